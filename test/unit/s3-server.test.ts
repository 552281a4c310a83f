// The embedded S3 server against the real SDK on default settings (checksums, aws-chunked, lib-storage multipart).
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type S3ObjectCreated, type S3Server, startS3Server } from '../../local/s3-server/index.ts';

const BUCKET = 'test-bucket';
const MiB = 1024 * 1024;

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

let dataDir: string;
let server: S3Server;
let s3: S3Client;
const events: S3ObjectCreated[] = [];

async function getBytes(key: string, extra: { Range?: string; VersionId?: string } = {}): Promise<Buffer> {
  const response = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, ...extra }));
  return Buffer.from(await response.Body!.transformToByteArray());
}

async function errorOf(promise: Promise<unknown>): Promise<S3ServiceException> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof S3ServiceException) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

function chunksOf(data: Buffer, pieces = 7): Buffer[] {
  const size = Math.ceil(data.length / pieces) || 1;
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += size)
    chunks.push(data.subarray(offset, offset + size));
  return chunks;
}

/** The headers the SDK finally sends for one command, to prove which wire format a test exercised. */
function captureRequestHeaders(command: PutObjectCommand): { headers: Record<string, string> } {
  const sent = { headers: {} as Record<string, string> };
  command.middlewareStack.add(
    (next) => async (args) => {
      sent.headers = { ...(args.request as { headers: Record<string, string> }).headers };
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low' },
  );
  return sent;
}

/** A raw request (fetch would normalise '..' away before sending it). */
function rawRequest(method: string, rawPath: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: '127.0.0.1', port: server.port, path: rawPath, method },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 's3-server-'));
  server = await startS3Server({
    dataDir,
    buckets: [BUCKET],
    onObjectCreated: (event) => events.push(event),
  });
  s3 = new S3Client({
    endpoint: server.url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  });
});

afterAll(async () => {
  s3?.destroy();
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('PutObject and GetObject on default SDK settings', () => {
  it('stores a string, a Buffer and a 0-byte object byte for byte', async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'put/text.csv', Body: 'email\na@example.com\n' }),
    );
    expect((await getBytes('put/text.csv')).toString()).toBe('email\na@example.com\n');

    const binary = randomBytes(300_000);
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'put/binary.bin', Body: binary }));
    expect(put.ETag).toBe(`"${createHash('md5').update(binary).digest('hex')}"`);
    expect(sha256(await getBytes('put/binary.bin'))).toBe(sha256(binary));

    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'put/empty', Body: Buffer.alloc(0) }));
    expect((await getBytes('put/empty')).length).toBe(0);
  });

  it('decodes aws-chunked streams with their checksum trailer (a Readable and a file stream)', async () => {
    const binary = randomBytes(1_000_003);
    const file = path.join(dataDir, 'upload-source.bin');
    writeFileSync(file, binary);
    const sources = {
      'put/readable.bin': () => ({ Body: Readable.from(chunksOf(binary)), ContentLength: binary.length }),
      'put/file.bin': () => ({ Body: createReadStream(file) }),
    };
    for (const [key, source] of Object.entries(sources)) {
      const command = new PutObjectCommand({ Bucket: BUCKET, Key: key, ...source() });
      const sent = captureRequestHeaders(command);
      await s3.send(command);
      expect(sent.headers['content-encoding']).toBe('aws-chunked');
      expect(sent.headers['x-amz-content-sha256']).toBe('STREAMING-UNSIGNED-PAYLOAD-TRAILER');
      expect(sent.headers['x-amz-trailer']).toBe('x-amz-checksum-crc32');
      const stored = await getBytes(key);
      expect(stored.length).toBe(binary.length);
      expect(sha256(stored)).toBe(sha256(binary));
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
      expect(head.ContentLength).toBe(binary.length);
      expect(head.ContentEncoding).toBeUndefined();
    }
  });

  it('keeps content type and user metadata, and echoes the checksum only when asked', async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'put/meta.json',
        Body: '{}',
        ContentType: 'application/json',
        Metadata: { origin: 'unit-test' },
      }),
    );
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: BUCKET, Key: 'put/meta.json', ChecksumMode: 'ENABLED' }),
    );
    expect(head.ContentType).toBe('application/json');
    expect(head.Metadata).toEqual({ origin: 'unit-test' });
    expect(head.ChecksumCRC32).toMatch(/^[A-Za-z0-9+/]{6}==$/);
    const plain = await fetch(`${server.url}/${BUCKET}/put/meta.json`, { method: 'HEAD' });
    expect(plain.headers.get('x-amz-checksum-crc32')).toBeNull();
    expect(plain.headers.get('x-amz-request-id')).toMatch(/^[0-9A-F]{16}$/);
  });

  it('answers BadDigest when the sent checksum does not match the bytes', async () => {
    const response = await fetch(`${server.url}/${BUCKET}/put/bad-digest`, {
      method: 'PUT',
      body: 'hello',
      headers: { 'x-amz-checksum-crc32': 'AAAAAA==' },
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('<Code>BadDigest</Code>');
    const missing = await errorOf(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'put/bad-digest' })));
    expect(missing.name).toBe('NotFound');
  });

  it('verifies and keeps each checksum algorithm the SDK sends, in a header or an aws-chunked trailer', async () => {
    // The catalogue's check input: every CRC and SHA of "123456789" is published.
    const check = Buffer.from('123456789');
    const expected = {
      CRC32: 'cbf43926',
      CRC32C: 'e3069283',
      CRC64NVME: 'ae8b14860a799888',
      SHA1: 'f7c3bc1d808e04732adf679965ccc34ca7ae3441',
      SHA256: '15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225',
    } as const;
    for (const [algorithm, hex] of Object.entries(expected) as [keyof typeof expected, string][]) {
      const value = Buffer.from(hex, 'hex').toString('base64');
      for (const [key, body] of [
        [`put/checksum-${algorithm}.txt`, () => check],
        [`put/checksum-${algorithm}-streamed.txt`, () => Readable.from(chunksOf(check, 4))],
      ] as const) {
        const command = new PutObjectCommand({
          Bucket: BUCKET,
          Key: key,
          Body: body(),
          ContentLength: check.length,
          ChecksumAlgorithm: algorithm,
        });
        const sent = captureRequestHeaders(command);
        const put = await s3.send(command);
        expect(
          sent.headers[`x-amz-checksum-${algorithm.toLowerCase()}`] ?? sent.headers['x-amz-trailer'],
        ).toBe(key.endsWith('-streamed.txt') ? `x-amz-checksum-${algorithm.toLowerCase()}` : value);
        expect(put[`Checksum${algorithm}`]).toBe(value);
        const head = await s3.send(
          new HeadObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: 'ENABLED' }),
        );
        expect(head[`Checksum${algorithm}`]).toBe(value);
      }
      // A value off by one bit is refused, and nothing is stored.
      const wrong = Buffer.from(hex, 'hex');
      wrong[0] = wrong[0]! ^ 1;
      const response = await fetch(`${server.url}/${BUCKET}/put/checksum-${algorithm}-wrong`, {
        method: 'PUT',
        body: check,
        headers: { [`x-amz-checksum-${algorithm.toLowerCase()}`]: wrong.toString('base64') },
      });
      expect(response.status).toBe(400);
      expect(await response.text()).toContain(`The ${algorithm} you specified did not match`);
    }
  });

  it('decodes signed chunks (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) as awscli sends them', async () => {
    const payload = randomBytes(70_000);
    const signature = 'f'.repeat(64);
    const first = payload.subarray(0, 65_536);
    const second = payload.subarray(65_536);
    const framed = Buffer.concat([
      Buffer.from(`${first.length.toString(16)};chunk-signature=${signature}\r\n`),
      first,
      Buffer.from(`\r\n${second.length.toString(16)};chunk-signature=${signature}\r\n`),
      second,
      Buffer.from(`\r\n0;chunk-signature=${signature}\r\n\r\n`),
    ]);
    const response = await fetch(`${server.url}/${BUCKET}/put/signed.bin`, {
      method: 'PUT',
      body: framed,
      headers: {
        'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': String(payload.length),
      },
    });
    expect(response.status).toBe(200);
    expect(sha256(await getBytes('put/signed.bin'))).toBe(sha256(payload));
  });

  it('gives every write a new version id, and serves the current one by id', async () => {
    const first = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'versions/a', Body: 'one' }));
    const second = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'versions/a', Body: 'two' }));
    expect(first.VersionId).toBeTruthy();
    expect(second.VersionId).not.toBe(first.VersionId);
    expect((await getBytes('versions/a', { VersionId: second.VersionId })).toString()).toBe('two');
    const old = await errorOf(getBytes('versions/a', { VersionId: first.VersionId }));
    expect(old.name).toBe('NoSuchVersion');
    const versioning = await s3.send(new GetBucketVersioningCommand({ Bucket: BUCKET }));
    expect(versioning.Status).toBe('Enabled');
  });

  it('honours conditional writes (If-None-Match: *)', async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'cond/once', Body: 'first', IfNoneMatch: '*' }),
    );
    const error = await errorOf(
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cond/once', Body: 'second', IfNoneMatch: '*' })),
    );
    expect(error.$metadata.httpStatusCode).toBe(412);
    expect((await getBytes('cond/once')).toString()).toBe('first');
  });
});

describe('GetObject ranges and errors', () => {
  const data = Buffer.from('0123456789');

  beforeAll(async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'range/digits', Body: data }));
  });

  it('serves bytes=a-b, a- and -n with 206 and Content-Range', async () => {
    const middle = await s3.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: 'range/digits', Range: 'bytes=2-5' }),
    );
    expect(middle.$metadata.httpStatusCode).toBe(206);
    expect(middle.ContentRange).toBe('bytes 2-5/10');
    expect(await middle.Body!.transformToString()).toBe('2345');
    expect((await getBytes('range/digits', { Range: 'bytes=7-' })).toString()).toBe('789');
    expect((await getBytes('range/digits', { Range: 'bytes=-3' })).toString()).toBe('789');
  });

  it('answers InvalidRange 416 past the end', async () => {
    const error = await errorOf(getBytes('range/digits', { Range: 'bytes=10-20' }));
    expect(error.name).toBe('InvalidRange');
    expect(error.$metadata.httpStatusCode).toBe(416);
  });

  it('answers NoSuchKey on GET, NotFound on HEAD and NoSuchBucket for a missing bucket', async () => {
    expect((await errorOf(getBytes('range/missing'))).name).toBe('NoSuchKey');
    const head = await errorOf(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'range/missing' })));
    expect(head.name).toBe('NotFound');
    expect(head.$metadata.httpStatusCode).toBe(404);
    const bucket = await errorOf(s3.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'x' })));
    expect(bucket.name).toBe('NoSuchBucket');
  });

  it('refuses a key with a .. segment', async () => {
    expect(await rawRequest('PUT', `/${BUCKET}/a/../../escape`, 'x')).toBe(400);
    expect(await rawRequest('PUT', `/${BUCKET}/a/%2E%2E/%2E%2E/escape`, 'x')).toBe(400);
    expect(existsSync(path.join(dataDir, 'escape'))).toBe(false);
  });
});

describe('buckets', () => {
  it('creates, heads and lists buckets; a second create is BucketAlreadyOwnedByYou', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'second-bucket' }));
    await s3.send(new HeadBucketCommand({ Bucket: 'second-bucket' }));
    const again = await errorOf(s3.send(new CreateBucketCommand({ Bucket: 'second-bucket' })));
    expect(again.name).toBe('BucketAlreadyOwnedByYou');
    expect(again.$metadata.httpStatusCode).toBe(409);
    const names = (await s3.send(new ListBucketsCommand({}))).Buckets?.map((bucket) => bucket.Name);
    expect(names).toEqual(expect.arrayContaining([BUCKET, 'second-bucket']));
  });
});

describe('keys that are hard on a filesystem', () => {
  const keys = [
    'odd/with space.csv',
    'odd/ünïcødé-日本.csv',
    'odd/plus+sign.csv',
    'odd/a',
    'odd/a/b',
    'odd/dir/',
  ];

  it('round-trips each key and lists them all', async () => {
    for (const key of keys)
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: `body of ${key}` }));
    for (const key of keys) expect((await getBytes(key)).toString()).toBe(`body of ${key}`);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'odd/' }));
    expect(listed.Contents?.map((object) => object.Key).sort()).toEqual([...keys].sort());
  });

  it('keeps both sides of the a vs a/b collision, in either order', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'clash/x/y', Body: 'child first' }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'clash/x', Body: 'parent second' }));
    expect((await getBytes('clash/x')).toString()).toBe('parent second');
    expect((await getBytes('clash/x/y')).toString()).toBe('child first');
    // Once the child is gone, the parent's next write lands at its natural path.
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'clash/x/y' }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'clash/x', Body: 'parent again' }));
    expect(readFileSync(path.join(dataDir, BUCKET, 'clash', 'x'), 'utf8')).toBe('parent again');
  });
});

describe('ListObjectsV2', () => {
  const keys = ['list/1.csv', 'list/2.csv', 'list/3.csv', 'list/sub/4.csv', 'list/sub/5.csv'];

  beforeAll(async () => {
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));
  });

  it('pages with max-keys 2 over 5 keys', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'list/', MaxKeys: 2, ContinuationToken: token }),
      );
      pages++;
      expect(page.KeyCount).toBeLessThanOrEqual(2);
      seen.push(...(page.Contents ?? []).map((object) => object.Key!));
      token = page.NextContinuationToken;
      expect(page.IsTruncated).toBe(token !== undefined);
    } while (token);
    expect(pages).toBe(3);
    expect(seen).toEqual(keys);
  });

  it('groups by delimiter into CommonPrefixes, also across pages', async () => {
    const all = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'list/', Delimiter: '/' }));
    expect(all.Contents?.map((object) => object.Key)).toEqual(['list/1.csv', 'list/2.csv', 'list/3.csv']);
    expect(all.CommonPrefixes).toEqual([{ Prefix: 'list/sub/' }]);
    expect(all.Contents?.[0]?.LastModified).toBeInstanceOf(Date);

    const first = await s3.send(
      new ListObjectsV2Command({
        Bucket: BUCKET,
        Prefix: 'list/',
        Delimiter: '/',
        MaxKeys: 3,
        StartAfter: 'list/1.csv',
      }),
    );
    expect(first.Contents?.map((object) => object.Key)).toEqual(['list/2.csv', 'list/3.csv']);
    expect(first.CommonPrefixes).toEqual([{ Prefix: 'list/sub/' }]);
    expect(first.IsTruncated).toBe(false);
  });

  it('url-encodes keys when asked', async () => {
    const response = await fetch(`${server.url}/${BUCKET}?list-type=2&prefix=odd%2F&encoding-type=url`);
    const xml = await response.text();
    expect(xml).toContain('<Key>odd/with%20space.csv</Key>');
    expect(xml).toContain('<Key>odd/plus%2Bsign.csv</Key>');
  });
});

describe('DeleteObject and DeleteObjects', () => {
  it('deletes idempotently and in batches', async () => {
    for (const key of ['del/1', 'del/2', 'del/3']) {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));
    }
    const single = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'del/1' }));
    expect(single.$metadata.httpStatusCode).toBe(204);
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'del/1' }));
    const batch = await s3.send(
      new DeleteObjectsCommand({
        Bucket: BUCKET,
        Delete: { Objects: [{ Key: 'del/2' }, { Key: 'del/3' }, { Key: 'del/never-existed' }] },
      }),
    );
    expect(batch.Deleted?.map((deleted) => deleted.Key)).toEqual(['del/2', 'del/3', 'del/never-existed']);
    const left = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'del/' }));
    expect(left.KeyCount).toBe(0);
    expect(existsSync(path.join(dataDir, BUCKET, 'del'))).toBe(false);
  });
});

describe('CopyObject', () => {
  it('copies bytes and metadata, or replaces metadata', async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'copy/source file+1.csv',
        Body: 'copied bytes',
        ContentType: 'text/csv',
        Metadata: { from: 'source' },
      }),
    );
    const copied = await s3.send(
      new CopyObjectCommand({
        Bucket: BUCKET,
        Key: 'copy/target.csv',
        CopySource: `${BUCKET}/${encodeURIComponent('copy/source file+1.csv')}`,
      }),
    );
    expect(copied.CopyObjectResult?.ETag).toBe(`"${createHash('md5').update('copied bytes').digest('hex')}"`);
    expect(copied.VersionId).toBeTruthy();
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'copy/target.csv' }));
    expect(head.ContentType).toBe('text/csv');
    expect(head.Metadata).toEqual({ from: 'source' });
    expect((await getBytes('copy/target.csv')).toString()).toBe('copied bytes');

    await s3.send(
      new CopyObjectCommand({
        Bucket: BUCKET,
        Key: 'copy/target.csv',
        CopySource: `${BUCKET}/copy/target.csv`,
        MetadataDirective: 'REPLACE',
        ContentType: 'text/plain',
        Metadata: { from: 'replaced' },
      }),
    );
    const replaced = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'copy/target.csv' }));
    expect(replaced.ContentType).toBe('text/plain');
    expect(replaced.Metadata).toEqual({ from: 'replaced' });
  });

  it('answers NoSuchKey for a missing source', async () => {
    const error = await errorOf(
      s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'copy/x', CopySource: `${BUCKET}/copy/missing` })),
    );
    expect(error.name).toBe('NoSuchKey');
  });
});

describe('multipart uploads', () => {
  it('uploads ~12 MiB with lib-storage in 5 MiB parts, byte for byte, with a -3 ETag', async () => {
    const data = randomBytes(12 * MiB + 12_345);
    const upload = new Upload({
      client: s3,
      params: { Bucket: BUCKET, Key: 'multi/big.bin', Body: Readable.from([data]) },
      partSize: 5 * MiB,
      queueSize: 2,
    });
    const result = await upload.done();
    expect(result.ETag).toMatch(/^"[0-9a-f]{32}-3"$/);
    const stored = await getBytes('multi/big.bin');
    expect(sha256(stored)).toBe(sha256(data));
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: BUCKET, Key: 'multi/big.bin', ChecksumMode: 'ENABLED' }),
    );
    expect(head.ETag).toBe(result.ETag);
    expect(head.ChecksumCRC32).toBeUndefined();
  });

  it('builds an object from UploadPartCopy ranges and an uploaded part, and lists parts', async () => {
    const source = randomBytes(6 * MiB);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'multi/source.bin', Body: source }));
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'multi/copied.bin' }),
    );
    const part1 = await s3.send(
      new UploadPartCopyCommand({
        Bucket: BUCKET,
        Key: 'multi/copied.bin',
        UploadId,
        PartNumber: 1,
        CopySource: `${BUCKET}/multi/source.bin`,
        CopySourceRange: `bytes=0-${5 * MiB}`,
      }),
    );
    const tail = Buffer.from('tail bytes');
    const part2 = await s3.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: 'multi/copied.bin', UploadId, PartNumber: 2, Body: tail }),
    );
    const parts = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'multi/copied.bin', UploadId }));
    expect(parts.Parts?.map((part) => [part.PartNumber, part.Size])).toEqual([
      [1, 5 * MiB + 1],
      [2, tail.length],
    ]);
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: 'multi/copied.bin',
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: part1.CopyPartResult?.ETag },
            { PartNumber: 2, ETag: part2.ETag },
          ],
        },
      }),
    );
    const expected = Buffer.concat([source.subarray(0, 5 * MiB + 1), tail]);
    expect(sha256(await getBytes('multi/copied.bin'))).toBe(sha256(expected));
  });

  it('rejects parts out of order, unknown parts and small non-final parts; aborts', async () => {
    const key = 'multi/rejected.bin';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    const one = await s3.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: 'a' }),
    );
    const two = await s3.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 2, Body: 'b' }),
    );
    const complete = (parts: { PartNumber: number; ETag?: string }[]) =>
      errorOf(
        s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: BUCKET,
            Key: key,
            UploadId,
            MultipartUpload: { Parts: parts },
          }),
        ),
      );
    expect(
      (
        await complete([
          { PartNumber: 2, ETag: two.ETag },
          { PartNumber: 1, ETag: one.ETag },
        ])
      ).name,
    ).toBe('InvalidPartOrder');
    expect((await complete([{ PartNumber: 3, ETag: two.ETag }])).name).toBe('InvalidPart');
    expect(
      (
        await complete([
          { PartNumber: 1, ETag: one.ETag },
          { PartNumber: 2, ETag: two.ETag },
        ])
      ).name,
    ).toBe('EntityTooSmall');
    await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId }));
    const gone = await errorOf(s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId })));
    expect(gone.name).toBe('NoSuchUpload');
  });
});

describe('object-created events and storage layout', () => {
  it('fires after each put, copy and complete with strictly increasing sequencers', () => {
    const reasons = new Set(events.map((event) => event.reason));
    expect(reasons).toEqual(new Set(['PutObject', 'CopyObject', 'CompleteMultipartUpload']));
    for (let i = 1; i < events.length; i++) {
      const [previous, current] = [events[i - 1]!, events[i]!];
      expect(current.sequencer).toMatch(/^[0-9A-F]{16,}$/);
      expect(current.sequencer.length).toBe(previous.sequencer.length);
      expect(current.sequencer > previous.sequencer).toBe(true);
    }
    const big = events.find((event) => event.key === 'multi/big.bin');
    expect(big).toMatchObject({ bucket: BUCKET, reason: 'CompleteMultipartUpload', size: 12 * MiB + 12_345 });
    expect(big?.etag).toMatch(/-3"$/);
  });

  it('keeps bodies at <dataDir>/<bucket>/<key> after close, and the sequencer across a restart', async () => {
    const lastSequencer = events.at(-1)!.sequencer;
    await server.close();
    expect(readFileSync(path.join(dataDir, BUCKET, 'put', 'text.csv'), 'utf8')).toBe(
      'email\na@example.com\n',
    );
    expect(readFileSync(path.join(dataDir, BUCKET, 'odd', 'with space.csv'), 'utf8')).toBe(
      'body of odd/with space.csv',
    );
    // 'odd/a' was written first, so it holds the natural path; 'odd/a/b' lives beside its sidecar.
    expect(readFileSync(path.join(dataDir, BUCKET, 'odd', 'a'), 'utf8')).toBe('body of odd/a');
    const sidecar = JSON.parse(
      readFileSync(path.join(dataDir, '.s3meta', 'buckets', BUCKET, 'odd', 'a', 'b.json'), 'utf8'),
    );
    expect(sidecar).toMatchObject({ key: 'odd/a/b', size: 'body of odd/a/b'.length });
    expect(readFileSync(path.join(dataDir, sidecar.bodyFile), 'utf8')).toBe('body of odd/a/b');
    expect(readFileSync(path.join(dataDir, BUCKET, 'multi', 'big.bin')).length).toBe(12 * MiB + 12_345);
    expect(readFileSync(path.join(dataDir, '.s3meta', 'sequencer'), 'utf8')).toBe(lastSequencer);

    server = await startS3Server({ dataDir, onObjectCreated: (event) => events.push(event) });
    s3.destroy();
    s3 = new S3Client({
      endpoint: server.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    });
    expect((await getBytes('odd/a')).toString()).toBe('body of odd/a');
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'after/restart', Body: 'x' }));
    expect(events.at(-1)!.sequencer > lastSequencer).toBe(true);
  });
});
