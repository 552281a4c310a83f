// Unit tests of the shared S3 helpers: existence by exact-key listing (look-alike keys, pages) and moveObject's
// outcomes when the source, the target or both are gone, read against a bucket that denies reads of missing keys.
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { beforeEach, describe, expect, it } from 'vitest';
import { headObject, listedObject, moveObject, objectExists } from '../../functions/shared/s3.ts';
import { MemoryBucket } from './support/memory-s3.ts';

const bucket = new MemoryBucket();
const s3 = new S3Client({});
const SOURCE = 'incoming/teamA/a.csv';
const TARGET = 'processed/teamA/a-1a2b3c4d/a.csv';

/** Keys the function read (HEAD or GET), as opposed to listed. */
function readKeys(): string[] {
  return [...bucket.mock.commandCalls(HeadObjectCommand), ...bucket.mock.commandCalls(GetObjectCommand)].map(
    (call) => call.args[0].input.Key ?? '',
  );
}

function listings() {
  return bucket.listRequests;
}

beforeEach(() => {
  bucket.reset();
  // As in AWS for a role whose ListBucket is scoped by prefix: a read of a missing key is a 403, not a 404.
  bucket.missingKeyReads = 'AccessDenied';
});

describe('objectExists', () => {
  it('matches the exact key only: a.csv is not there because a.csv.bak is', async () => {
    bucket.put(`${SOURCE}.bak`, 'old');
    expect(await objectExists(s3, 'drop', SOURCE)).toBe(false);

    bucket.put(SOURCE, 'email\n');
    expect(await listedObject(s3, 'drop', SOURCE)).toMatchObject({ Key: SOURCE, Size: 6 });
    expect(readKeys()).toEqual([]);
  });

  it('lists the key itself as prefix, a few keys at a time', async () => {
    await objectExists(s3, 'drop', SOURCE);
    expect(listings()).toEqual([{ Prefix: SOURCE, MaxKeys: 10, ContinuationToken: undefined }]);
    expect(bucket.mock.commandCalls(ListObjectsV2Command)[0]?.args[0].input.Bucket).toBe('drop');
  });

  it('pages through look-alike keys to the end before saying no', async () => {
    for (let n = 10; n < 35; n++) bucket.put(`${SOURCE}.bak-${n}`, 'old');

    expect(await objectExists(s3, 'drop', SOURCE)).toBe(false);

    const tokens = listings().map((request) => request.ContinuationToken);
    expect(tokens).toHaveLength(3);
    expect(tokens[0]).toBeUndefined();
    expect(new Set(tokens.slice(1)).size).toBe(2);
  });

  it('finds the key on a later page when a store lists look-alike keys first', async () => {
    bucket.mock
      .on(ListObjectsV2Command)
      .callsFake((input: { ContinuationToken?: string }) =>
        input.ContinuationToken === 'page-2'
          ? { IsTruncated: false, Contents: [{ Key: SOURCE, Size: 6 }] }
          : { IsTruncated: true, NextContinuationToken: 'page-2', Contents: [{ Key: `${SOURCE}.bak` }] },
      );
    expect(await listedObject(s3, 'drop', SOURCE)).toEqual({ Key: SOURCE, Size: 6 });
  });
});

describe('moveObject', () => {
  it('answers MISSING for a key that is in neither place without reading either', async () => {
    expect(await moveObject(s3, 'drop', { key: SOURCE }, TARGET)).toBe('MISSING');
    expect(readKeys()).toEqual([]);
    expect(listings().map((input) => input.Prefix)).toEqual([SOURCE, TARGET]);
  });

  it('answers ALREADY_MOVED for a retry, finding the copy by listing, not by reading it', async () => {
    const versionId = bucket.put(SOURCE, 'data');
    expect(await moveObject(s3, 'drop', { key: SOURCE, versionId }, TARGET)).toBe('MOVED');
    bucket.mock.resetHistory();

    expect(await moveObject(s3, 'drop', { key: SOURCE, versionId }, TARGET)).toBe('ALREADY_MOVED');

    expect(readKeys().filter((key) => key.startsWith('processed/'))).toEqual([]);
    expect(bucket.mock.commandCalls(CopyObjectCommand)).toHaveLength(0);
    expect(bucket.current(TARGET)).toBe('data');
  });

  it('does not take a look-alike key for the source or the target', async () => {
    bucket.put(`${SOURCE}.bak`, 'old');
    bucket.put(`${TARGET}.bak`, 'old');

    expect(await moveObject(s3, 'drop', { key: SOURCE }, TARGET)).toBe('MISSING');
    expect(readKeys()).toEqual([]);

    expect(bucket.mock.commandCalls(CopyObjectCommand)).toHaveLength(0);
    expect(bucket.mock.commandCalls(DeleteObjectCommand)).toHaveLength(0);
    expect(bucket.current(`${SOURCE}.bak`)).toBe('old');
  });

  it('heads the source it found before copying it, then deletes it', async () => {
    const versionId = bucket.put(SOURCE, 'data');

    expect(await moveObject(s3, 'drop', { key: SOURCE, versionId }, TARGET)).toBe('MOVED');

    expect(readKeys()).toEqual([SOURCE]);
    expect(bucket.current(TARGET)).toBe('data');
    expect(bucket.current(SOURCE)).toBeUndefined();
  });

  it('copies our version once a newer upload is current, and leaves the newer one in place', async () => {
    const ours = bucket.put(SOURCE, 'first');
    bucket.put(SOURCE, 'second');

    expect(await moveObject(s3, 'drop', { key: SOURCE, versionId: ours }, TARGET)).toBe('MOVED');

    expect(bucket.current(TARGET)).toBe('first');
    expect(bucket.current(SOURCE)).toBe('second');
    expect(bucket.mock.commandCalls(DeleteObjectCommand)).toHaveLength(0);
  });
});

describe('headObject', () => {
  it('names the object and the permissions S3 checks when a HEAD is refused (S3 gives a HEAD 403 no body)', async () => {
    const error = await headObject(s3, 'drop', `${TARGET}.missing`).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.name).toBe('AccessDenied');
    expect(error?.message).toBe(
      `HeadObject of s3://drop/${TARGET}.missing was refused (403): the function needs s3:GetObject on it, and s3:ListBucket on the bucket to learn that a key does not exist`,
    );
  });
});
