// prepareS3Judge against moto with IAM enforcement on: roles hold exactly the given statements, reruns reuse
// what exists, and each function's assumed-role credentials are judged by its own role.
import { randomUUID } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, inject, it } from 'vitest';
import { type AwsCredentials, prepareS3Judge } from '../../local/runner/moto.ts';

const region = 'us-east-1';
const bucket = `judge-${randomUUID().slice(0, 8)}`;

function writerRole(prefix: string) {
  return {
    functionName: 'writer',
    roleName: `writer-${bucket}`,
    policies: [
      {
        name: 'write',
        document: {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: 's3:PutObject', Resource: `arn:aws:s3:::${bucket}/${prefix}*` },
          ],
        },
      },
    ],
  };
}

async function put(credentials: AwsCredentials | undefined, key: string) {
  if (!credentials) throw new Error('no credentials for the function');
  const s3 = new S3Client({ endpoint: inject('motoUrl'), region, forcePathStyle: true, credentials });
  try {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' }));
    return 'allowed';
  } catch (error) {
    return (error as Error).name;
  } finally {
    s3.destroy();
  }
}

describe('prepareS3Judge', () => {
  it('gives each function credentials that moto judges by that function role alone', async () => {
    const target = await prepareS3Judge({
      endpoint: inject('motoUrl'),
      region,
      admin: inject('motoAdmin'),
      bucket,
      roles: [writerRole('incoming/')],
    });
    const writer = target.credentials.get('writer');
    expect(writer?.sessionToken).toBeTruthy();
    expect(await put(writer, 'incoming/a.csv')).toBe('allowed');
    expect(await put(writer, 'processed/a.csv')).toBe('AccessDenied');
  });

  it('reuses the bucket and the role on a rerun, with the statements of this run only', async () => {
    const target = await prepareS3Judge({
      endpoint: inject('motoUrl'),
      region,
      admin: inject('motoAdmin'),
      bucket,
      roles: [writerRole('processed/')],
    });
    const writer = target.credentials.get('writer');
    expect(await put(writer, 'processed/a.csv')).toBe('allowed');
    expect(await put(writer, 'incoming/b.csv')).toBe('AccessDenied');
  });
});
