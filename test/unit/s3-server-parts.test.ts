// The embedded S3 server's pure parts: aws-chunked framing, checksums, list paging, sidecar names, virtual-host
// routing.
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { AwsChunkedDecoder } from '../../local/s3-server/aws-chunked.ts';
import { CHECKSUM_ALGORITHMS, createHasher } from '../../local/s3-server/checksums.ts';
import { startS3Server } from '../../local/s3-server/index.ts';
import { listPage } from '../../local/s3-server/list.ts';
import { metaSegment, sortKeys, unescapeMetaSegment } from '../../local/s3-server/storage.ts';

async function decode(
  framed: Buffer,
  pieceSize: number,
): Promise<{ body: Buffer; trailers: Record<string, string> }> {
  const pieces: Buffer[] = [];
  for (let offset = 0; offset < framed.length; offset += pieceSize)
    pieces.push(framed.subarray(offset, offset + pieceSize));
  const decoder = new AwsChunkedDecoder();
  const out: Buffer[] = [];
  await pipeline(Readable.from(pieces), decoder, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) out.push(chunk);
  });
  return { body: Buffer.concat(out), trailers: decoder.trailers };
}

describe('checksums', () => {
  // Each algorithm's published check value (of "123456789"), and of no bytes at all.
  const known = {
    CRC32: ['cbf43926', '00000000'],
    CRC32C: ['e3069283', '00000000'],
    CRC64NVME: ['ae8b14860a799888', '0000000000000000'],
    SHA1: ['f7c3bc1d808e04732adf679965ccc34ca7ae3441', 'da39a3ee5e6b4b0d3255bfef95601890afd80709'],
    SHA256: [
      '15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225',
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    ],
  } as const;
  const base64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');

  it('gives the check value of every algorithm, however the bytes are split', async () => {
    expect(Object.keys(known).sort()).toEqual([...CHECKSUM_ALGORITHMS].sort());
    const data = Buffer.from('123456789');
    for (const algorithm of CHECKSUM_ALGORITHMS) {
      for (const pieceSize of [1, 2, 4, data.length]) {
        const hasher = createHasher(algorithm);
        for (let offset = 0; offset < data.length; offset += pieceSize)
          hasher.update(data.subarray(offset, offset + pieceSize));
        expect(await hasher.digest(), `${algorithm} in pieces of ${pieceSize}`).toBe(
          base64(known[algorithm][0]),
        );
      }
      expect(await createHasher(algorithm).digest(), `${algorithm} of nothing`).toBe(
        base64(known[algorithm][1]),
      );
    }
  });
});

describe('AwsChunkedDecoder', () => {
  const data = Buffer.from('hello\r\nworld, with a CRLF inside the data');

  it('decodes unsigned chunks with a checksum trailer, however the bytes arrive', async () => {
    const framed = Buffer.concat([
      Buffer.from('5\r\n'),
      data.subarray(0, 5),
      Buffer.from(`\r\n${(data.length - 5).toString(16)}\r\n`),
      data.subarray(5),
      Buffer.from('\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n'),
    ]);
    for (const pieceSize of [1, 2, 7, framed.length]) {
      const decoded = await decode(framed, pieceSize);
      expect(decoded.body.equals(data)).toBe(true);
      expect(decoded.trailers).toEqual({ 'x-amz-checksum-crc32': 'AAAAAA==' });
    }
  });

  it('decodes signed chunks with a signed trailer (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER)', async () => {
    const signature = 'a'.repeat(64);
    const framed = Buffer.from(
      `${data.length.toString(16)};chunk-signature=${signature}\r\n${data.toString('latin1')}\r\n` +
        `0;chunk-signature=${signature}\r\nx-amz-checksum-sha256:abc=\r\nx-amz-trailer-signature:${signature}\r\n\r\n`,
      'latin1',
    );
    const decoded = await decode(framed, 3);
    expect(decoded.body.equals(data)).toBe(true);
    expect(decoded.trailers['x-amz-checksum-sha256']).toBe('abc=');
  });

  it('fails on a truncated body and on a chunk longer than declared', async () => {
    await expect(decode(Buffer.from('10\r\nshort'), 4)).rejects.toMatchObject({ code: 'IncompleteBody' });
    await expect(decode(Buffer.from('2\r\nabc\r\n0\r\n\r\n'), 4)).rejects.toMatchObject({
      code: 'IncompleteBody',
    });
  });
});

describe('listPage', () => {
  const keys = sortKeys(['a/1', 'a/2', 'b', 'c/x/1', 'c/x/2', 'c/y', 'd']);

  it('counts common prefixes toward max-keys and resumes after a prefix without repeating it', () => {
    const first = listPage(keys, { prefix: '', delimiter: '/', maxKeys: 2 });
    expect(first).toMatchObject({ keys: ['b'], commonPrefixes: ['a/'], isTruncated: true, last: 'b' });
    const second = listPage(keys, { prefix: '', delimiter: '/', maxKeys: 1, after: first.last });
    expect(second).toMatchObject({ keys: [], commonPrefixes: ['c/'], isTruncated: true, lastIsPrefix: true });
    const third = listPage(keys, {
      prefix: '',
      delimiter: '/',
      maxKeys: 5,
      after: 'c/',
      afterIsPrefix: true,
    });
    expect(third).toMatchObject({ keys: ['d'], commonPrefixes: [], isTruncated: false });
  });

  it('groups below the prefix only', () => {
    const page = listPage(keys, { prefix: 'c/', delimiter: '/', maxKeys: 10 });
    expect(page).toMatchObject({ keys: ['c/y'], commonPrefixes: ['c/x/'] });
  });

  it('sorts keys by UTF-8 bytes, as S3 does', () => {
    expect(sortKeys(['\u{1F600}', '\uFF21', 'a'])).toEqual(['a', '\uFF21', '\u{1F600}']);
  });
});

describe('sidecar names', () => {
  it('never let a folder and a file collide, and round-trip', () => {
    const samples = ['a', 'a.json', 'a.body', '.hidden', '.', '..', '', '%', '%2E', 'x%25y', 'ünï +'];
    for (const sample of samples) {
      expect(unescapeMetaSegment(metaSegment(sample, true))).toBe(sample);
      expect(unescapeMetaSegment(metaSegment(sample, false))).toBe(sample);
      expect(metaSegment(sample, true)).not.toMatch(/\.(json|body)$/);
      expect(['.', '..', '']).not.toContain(metaSegment(sample, true));
    }
    const files = new Set(samples.map((sample) => `${metaSegment(sample, false)}.json`));
    expect(files.size).toBe(samples.length);
  });
});

describe('virtual-host style', () => {
  it('takes the bucket from a <bucket>.localhost Host header', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 's3-vhost-'));
    const server = await startS3Server({ dataDir, buckets: ['vhost-bucket'] });
    try {
      const request = (method: string, body?: string) =>
        new Promise<{ status: number; text: string }>((resolve, reject) => {
          const req = http.request(
            {
              host: '127.0.0.1',
              port: server.port,
              path: '/folder/file.txt',
              method,
              headers: { host: `vhost-bucket.localhost:${server.port}` },
            },
            (res) => {
              let text = '';
              res.setEncoding('utf8');
              res.on('data', (chunk: string) => {
                text += chunk;
              });
              res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
            },
          );
          req.on('error', reject);
          req.end(body);
        });
      expect((await request('PUT', 'virtual')).status).toBe(200);
      expect(await request('GET')).toEqual({ status: 200, text: 'virtual' });
    } finally {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
