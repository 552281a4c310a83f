// The embedded S3 server in a temporary folder, with an SDK client on it: what tests of tasks that stream
// through S3 (lib-storage, ranged GETs) start before and close after.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { startS3Server } from '../../../local/s3-server/index.ts';

export interface EmbeddedS3 {
  s3: S3Client;
  close(): Promise<void>;
}

export async function startEmbeddedS3(name: string, buckets: string[]): Promise<EmbeddedS3> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `${name}-`));
  const server = await startS3Server({ dataDir, buckets });
  const s3 = new S3Client({
    endpoint: server.url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  });
  return {
    s3,
    async close() {
      s3.destroy();
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
