// Receiving a request body: aws-chunked decoding, MD5/checksum/SHA-256 while streaming to a temp file, verification.
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AwsChunkedDecoder } from './aws-chunked.ts';
import {
  algorithmFromHeader,
  type ChecksumAlgorithm,
  checksumHeader,
  createHasher,
  type Hasher,
} from './checksums.ts';
import { badDigest, invalidArgument, S3Error } from './errors.ts';

export interface ReceivedBody {
  tempFile: string;
  size: number;
  /** Hex MD5 of the decoded bytes. */
  md5: string;
  checksum?: { algorithm: ChecksumAlgorithm; value: string };
}

/** Passes bytes through while counting and hashing them. */
export class HashingPassThrough extends Transform {
  size = 0;
  private readonly md5Hash: Hash = createHash('md5');
  private readonly sha256Hash: Hash | undefined;
  private readonly checksumHasher: Hasher | undefined;

  constructor(
    readonly algorithm: ChecksumAlgorithm | undefined,
    withSha256 = false,
  ) {
    super();
    this.checksumHasher = algorithm ? createHasher(algorithm) : undefined;
    this.sha256Hash = withSha256 ? createHash('sha256') : undefined;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length;
    this.md5Hash.update(chunk);
    this.sha256Hash?.update(chunk);
    this.checksumHasher?.update(chunk);
    callback(null, chunk);
  }

  async digests(): Promise<{
    md5: string;
    sha256?: string;
    checksum?: { algorithm: ChecksumAlgorithm; value: string };
  }> {
    return {
      md5: this.md5Hash.digest('hex'),
      sha256: this.sha256Hash?.digest('hex'),
      checksum:
        this.algorithm && this.checksumHasher
          ? { algorithm: this.algorithm, value: await this.checksumHasher.digest() }
          : undefined,
    };
  }
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** The checksum algorithm a request declares: its SDK header, a checksum header, or a declared trailer. */
export function declaredChecksumAlgorithm(req: IncomingMessage): ChecksumAlgorithm | undefined {
  const named = header(req, 'x-amz-sdk-checksum-algorithm') ?? header(req, 'x-amz-checksum-algorithm');
  if (named) {
    const algorithm = algorithmFromHeader(`x-amz-checksum-${named}`);
    if (!algorithm)
      throw invalidArgument('Checksum algorithm provided is unsupported.', 'x-amz-checksum-algorithm', named);
    return algorithm;
  }
  for (const name of Object.keys(req.headers)) {
    const algorithm = algorithmFromHeader(name);
    if (algorithm) return algorithm;
  }
  const trailer = header(req, 'x-amz-trailer');
  return trailer ? algorithmFromHeader(trailer) : undefined;
}

export function isAwsChunked(req: IncomingMessage): boolean {
  const encoding = header(req, 'content-encoding') ?? '';
  const sha = header(req, 'x-amz-content-sha256') ?? '';
  return /(^|,)\s*aws-chunked\s*(,|$)/i.test(encoding) || sha.startsWith('STREAMING-');
}

/** Content-Encoding as stored: the client's own encodings, without the transfer-only aws-chunked. */
export function storedContentEncoding(req: IncomingMessage): string | undefined {
  const parts = (header(req, 'content-encoding') ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '' && part.toLowerCase() !== 'aws-chunked');
  return parts.length > 0 ? parts.join(',') : undefined;
}

/**
 * Streams the request body into a temp file (never whole in memory), decoding aws-chunked framing, and verifies
 * the declared length, Content-MD5, x-amz-content-sha256 and the x-amz-checksum-* value (header or trailer).
 */
export async function receiveBody(
  req: IncomingMessage,
  tempFile: string,
  fallbackAlgorithm?: ChecksumAlgorithm,
): Promise<ReceivedBody> {
  const chunked = isAwsChunked(req);
  const algorithm = declaredChecksumAlgorithm(req) ?? fallbackAlgorithm;
  const contentSha256 = header(req, 'x-amz-content-sha256') ?? '';
  const verifySha256 = !chunked && /^[0-9a-f]{64}$/i.test(contentSha256);
  const hashing = new HashingPassThrough(algorithm, verifySha256);
  const decoder = chunked ? new AwsChunkedDecoder() : undefined;
  try {
    if (decoder) await pipeline(req, decoder, hashing, createWriteStream(tempFile));
    else await pipeline(req, hashing, createWriteStream(tempFile));
    const digests = await hashing.digests();
    const declared = header(req, 'x-amz-decoded-content-length');
    if (chunked && declared !== undefined && Number(declared) !== hashing.size) {
      throw new S3Error(
        'IncompleteBody',
        400,
        `You did not provide the number of bytes specified by x-amz-decoded-content-length (${declared} declared, ${hashing.size} received)`,
      );
    }
    const contentMd5 = header(req, 'content-md5');
    if (
      contentMd5 !== undefined &&
      Buffer.from(digests.md5, 'hex').toString('base64') !== contentMd5.trim()
    ) {
      throw badDigest('The Content-MD5 you specified did not match what we received.');
    }
    if (verifySha256 && digests.sha256 !== contentSha256.toLowerCase()) {
      throw new S3Error(
        'XAmzContentSHA256Mismatch',
        400,
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
      );
    }
    const checksum = digests.checksum;
    if (checksum) {
      const name = checksumHeader(checksum.algorithm);
      const expected = header(req, name) ?? decoder?.trailers[name];
      if (expected !== undefined && expected.trim() !== checksum.value) {
        throw badDigest(`The ${checksum.algorithm} you specified did not match the calculated checksum.`);
      }
    }
    return { tempFile, size: hashing.size, md5: digests.md5, checksum };
  } catch (error) {
    await fs.rm(tempFile, { force: true });
    throw error;
  }
}

/** A small request body (XML for DeleteObjects or CompleteMultipartUpload), aws-chunked or not, capped. */
export async function readSmallBody(req: IncomingMessage, limit = 4 * 1024 * 1024): Promise<string> {
  const source: AsyncIterable<Buffer> = isAwsChunked(req) ? req.pipe(new AwsChunkedDecoder()) : req;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of source) {
    size += chunk.length;
    if (size > limit) throw new S3Error('MaxMessageLengthExceeded', 400, 'Your request was too big.');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
