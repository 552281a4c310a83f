// S3 helpers shared by the tasks: one client per container, JSON reports, existence checks, safe moves.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  PutObjectCommand,
  S3Client,
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
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === 404;
}

/** HeadObject, or `undefined` when the object (or that version) does not exist. */
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
    throw error;
  }
}

export async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  return (await headObject(s3, bucket, key)) !== undefined;
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
 */
export async function moveObject(
  s3: S3Client,
  bucket: string,
  source: { key: string; versionId?: string },
  targetKey: string,
): Promise<MoveOutcome> {
  const current = await headObject(s3, bucket, source.key);
  const currentIsOurs =
    current !== undefined && (!source.versionId || current.VersionId === source.versionId);
  if (currentIsOurs) {
    await copyObject(s3, bucket, { ...source, size: current.ContentLength ?? 0 }, targetKey);
    // Without a VersionId: a delete marker in a versioned bucket; the version stays until lifecycle expiry.
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: source.key }));
    return 'MOVED';
  }
  if (await objectExists(s3, bucket, targetKey)) return 'ALREADY_MOVED';
  const ourVersion = source.versionId
    ? await headObject(s3, bucket, source.key, source.versionId)
    : undefined;
  if (!ourVersion) return 'MISSING';
  // Our version is no longer current (a newer upload, or a delete marker): copy it, delete nothing.
  await copyObject(s3, bucket, { ...source, size: ourVersion.ContentLength ?? 0 }, targetKey);
  return 'MOVED';
}

/** Deletes an object that may already be gone (S3's DeleteObject is idempotent; kept explicit for clarity). */
export async function deleteObject(s3: S3Client, bucket: string, key: string): Promise<void> {
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
}
