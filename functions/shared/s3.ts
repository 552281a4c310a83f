// S3 helpers shared by the tasks: one client per container, JSON reports, existence checks, safe moves.

import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  PutObjectCommand,
  paginateListObjectsV2,
  S3Client,
  type _Object as S3Object,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';

let client: S3Client | undefined;

/**
 * The container's one S3 client. Endpoints come from AWS_ENDPOINT_URL_S3, which the SDK reads itself; path
 * style only where a local server needs it.
 */
export function s3Client(): S3Client {
  client ??= new S3Client({ forcePathStyle: process.env.S3_FORCE_PATH_STYLE === 'true' });
  return client;
}

/** True for S3's "no such object" in all its shapes: HeadObject's bare 404, GetObject's NoSuchKey. */
export function isNotFound(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'NotFound' || error.name === 'NoSuchKey' || error.name === 'NoSuchVersion') return true;
  return httpStatus(error) === 404;
}

/**
 * HeadObject, or `undefined` on a 404. Only for an object the caller may read (`s3:GetObject`, or
 * `s3:GetObjectVersion` with a VersionId) and expects to exist: S3 answers a missing key with 404 only to a
 * caller that also has `s3:ListBucket` on the bucket, with 403 AccessDenied to any other, and that throws here
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html, "Permissions"; whether a ListBucket
 * scoped by `s3:prefix` counts is not documented). Ask {@link listedObject} whether a key exists.
 */
export async function headObject(
  s3: S3Client,
  bucket: string,
  key: string,
  versionId?: string,
): Promise<HeadObjectCommandOutput | undefined> {
  try {
    return await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    if (httpStatus(error) === 403) throw new HeadForbiddenError(bucket, key, versionId, error);
    throw error;
  }
}

function httpStatus(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

/**
 * A HEAD answered 403. S3 gives a HEAD no body, so the SDK's error says only "UnknownError"; this one names
 * the object and the permissions S3 checks, so the task's failure (its Cause) says what to grant.
 */
export class HeadForbiddenError extends Error {
  constructor(bucket: string, key: string, versionId: string | undefined, cause: unknown) {
    const action = versionId ? 's3:GetObjectVersion' : 's3:GetObject';
    super(
      `HeadObject of s3://${bucket}/${key}${versionId ? ` (version ${versionId})` : ''} was refused (403): ` +
        `the function needs ${action} on it, and s3:ListBucket on the bucket to learn that a key does not exist`,
      { cause },
    );
    this.name = 'AccessDenied';
  }
}

/**
 * Keys per page of an existence check. A general purpose bucket lists keys in ascending order, so the exact
 * key comes before every key that extends it and the first page answers whenever the key exists; the pages
 * after it matter to a store that lists in another order (S3's directory buckets do, per API_ListObjectsV2),
 * and are read rather than assumed away.
 */
const EXISTENCE_PAGE_SIZE = 10;

/**
 * The current version of exactly `key` as ListObjectsV2 shows it (key, size, ETag; no body, no metadata), or
 * `undefined`. The existence check of keys that may be missing or that the caller may not read: it needs
 * only `s3:ListBucket` on the bucket, which a statement narrows with the `s3:prefix` condition key to the
 * prefixes the function checks (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html,
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html). `Prefix` = the key
 * also answers with every key that extends it (`a.csv.bak` for `a.csv`): only an exact match counts.
 */
export async function listedObject(s3: S3Client, bucket: string, key: string): Promise<S3Object | undefined> {
  const pages = paginateListObjectsV2(
    { client: s3, pageSize: EXISTENCE_PAGE_SIZE },
    { Bucket: bucket, Prefix: key },
  );
  for await (const page of pages) {
    const found = page.Contents?.find((object) => object.Key === key);
    if (found) return found;
  }
  return undefined;
}

/**
 * Every current object under `prefix` (key and size), in S3's key order, all pages: what a folder drop holds.
 * Needs only `s3:ListBucket` with an `s3:prefix` condition that covers `prefix`.
 */
export async function listPrefix(
  s3: S3Client,
  bucket: string,
  prefix: string,
): Promise<{ key: string; size: number }[]> {
  const objects: { key: string; size: number }[] = [];
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix })) {
    for (const object of page.Contents ?? []) {
      if (object.Key !== undefined) objects.push({ key: object.Key, size: object.Size ?? 0 });
    }
  }
  return objects;
}

export async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  return (await listedObject(s3, bucket, key)) !== undefined;
}

/** Writes a report as pretty JSON (people open these files). */
export async function putJson(s3: S3Client, bucket: string, key: string, body: unknown): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: `${JSON.stringify(body, null, 2)}\n`,
      ContentType: 'application/json',
    }),
  );
}

/** CopyObject's limit; above it only a multipart copy works. */
export const MAX_SINGLE_COPY_BYTES = 5 * 1024 ** 3;
/** 512 MiB parts: a 10 GB file is 20 parts, far below the 10,000-part limit. */
const COPY_PART_BYTES = 512 * 1024 ** 2;

/** `bucket/key[?versionId=…]`, URL-encoded as CopySource requires, slashes kept. */
export function copySourceOf(bucket: string, key: string, versionId?: string): string {
  const encodedKey = encodeURIComponent(key).replaceAll('%2F', '/');
  const version = versionId ? `?versionId=${encodeURIComponent(versionId)}` : '';
  return `${bucket}/${encodedKey}${version}`;
}

/** Copies an object within the bucket; above 5 GB through UploadPartCopy. */
export async function copyObject(
  s3: S3Client,
  bucket: string,
  source: { key: string; versionId?: string; size: number },
  targetKey: string,
): Promise<void> {
  const copySource = copySourceOf(bucket, source.key, source.versionId);
  if (source.size <= MAX_SINGLE_COPY_BYTES) {
    await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: targetKey, CopySource: copySource }));
    return;
  }
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: targetKey }));
  try {
    const parts: { ETag: string; PartNumber: number }[] = [];
    for (let start = 0, partNumber = 1; start < source.size; start += COPY_PART_BYTES, partNumber++) {
      const end = Math.min(start + COPY_PART_BYTES, source.size) - 1;
      const copied = await s3.send(
        new UploadPartCopyCommand({
          Bucket: bucket,
          Key: targetKey,
          UploadId,
          PartNumber: partNumber,
          CopySource: copySource,
          CopySourceRange: `bytes=${start}-${end}`,
        }),
      );
      parts.push({ ETag: copied.CopyPartResult?.ETag ?? '', PartNumber: partNumber });
    }
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: targetKey,
        UploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
  } catch (error) {
    // An abandoned upload bills its parts until a lifecycle rule clears it: abort now, best effort.
    await s3
      .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: targetKey, UploadId }))
      .catch(() => undefined);
    throw error;
  }
}

export type MoveOutcome = 'MOVED' | 'ALREADY_MOVED' | 'MISSING';

/**
 * Moves an object: copy first, delete the source only once the copy succeeded, so the original is never lost.
 * Idempotent: a source already gone with the target present counts as moved (a retried task).
 * With a versionId, only that version is moved: if a newer upload of the same key is now current, it is left
 * in place for its own execution (the delete would hide it). `MISSING`: neither is there; the caller decides.
 *
 * Which key exists is asked by listing ({@link listedObject}): the source may be gone, and the target lies
 * under a prefix the function writes but does not read. Only a source that is there is read (HEAD: its
 * current version and size, which the copy needs).
 */
export async function moveObject(
  s3: S3Client,
  bucket: string,
  source: { key: string; versionId?: string },
  targetKey: string,
): Promise<MoveOutcome> {
  if (await objectExists(s3, bucket, source.key)) {
    // Listed a moment ago; a 404 now is a delete in between, which the checks below handle like any other.
    const current = await headObject(s3, bucket, source.key);
    if (current !== undefined && (!source.versionId || current.VersionId === source.versionId)) {
      await copyObject(s3, bucket, { ...source, size: current.ContentLength ?? 0 }, targetKey);
      // Without a VersionId: a delete marker in a versioned bucket; the version stays until lifecycle expiry.
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: source.key }));
      return 'MOVED';
    }
  }
  if (await objectExists(s3, bucket, targetKey)) return 'ALREADY_MOVED';
  if (!source.versionId) return 'MISSING';
  // Our version is no longer current (a newer upload, or a delete marker), and a listing shows current
  // versions only: read that version itself. It exists unless someone deleted it for good.
  const ourVersion = await headObject(s3, bucket, source.key, source.versionId);
  if (!ourVersion) return 'MISSING';
  await copyObject(s3, bucket, { ...source, size: ourVersion.ContentLength ?? 0 }, targetKey);
  return 'MOVED';
}

/** Deletes an object that may already be gone (S3's DeleteObject is idempotent; kept explicit for clarity). */
export async function deleteObject(s3: S3Client, bucket: string, key: string): Promise<void> {
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
}

/** Ranged GETs of one object: 8 MiB each, 4 in flight, consumed in order. */
export const RANGE_BYTES = 8 * 1024 * 1024;
export const RANGES_IN_FLIGHT = 4;

/**
 * An object read as consecutive ranged GETs, several in flight, handed out in order as one stream: one GET
 * connection is the limit of a single stream from S3, and several give the throughput the workers of the
 * large validation can parse (S3's performance guidelines: "use byte-range fetches" and parallel
 * connections). The version pins every range to the same bytes; without one, `IfMatch` on the ETag does.
 */
export function rangedObjectStream(
  s3: S3Client,
  object: {
    bucket: string;
    key: string;
    versionId?: string | undefined;
    etag?: string | undefined;
    size: number;
  },
  { rangeBytes = RANGE_BYTES, inFlight = RANGES_IN_FLIGHT } = {},
): Readable {
  const fetchRange = async (start: number): Promise<Buffer> => {
    const end = Math.min(object.size, start + rangeBytes) - 1;
    const answer = await s3.send(
      new GetObjectCommand({
        Bucket: object.bucket,
        Key: object.key,
        VersionId: object.versionId,
        IfMatch: object.versionId ? undefined : object.etag,
        Range: `bytes=${start}-${end}`,
      }),
    );
    return Buffer.from(await answer.Body!.transformToByteArray());
  };
  async function* ranges(): AsyncGenerator<Buffer> {
    const pending: Promise<Buffer>[] = [];
    let next = 0;
    const fill = () => {
      while (pending.length < inFlight && next < object.size) {
        const request = fetchRange(next);
        // Awaited in order below; until then a failure must not surface as an unhandled rejection.
        request.catch(() => undefined);
        pending.push(request);
        next += rangeBytes;
      }
    };
    fill();
    while (pending.length > 0) {
      const bytes = await pending.shift()!;
      fill();
      yield bytes;
    }
  }
  return Readable.from(ranges(), { objectMode: false });
}
