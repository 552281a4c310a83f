// S3 helpers shared by the tasks: one client per container, JSON reports, existence checks, safe moves.
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';

let client: S3Client | undefined;

/** Endpoints come from AWS_ENDPOINT_URL_S3 (read by the SDK); path style where a local server needs it. */
export function s3Client(): S3Client {
  client ??= new S3Client({ forcePathStyle: process.env.S3_FORCE_PATH_STYLE === 'true' });
  return client;
}

export function isNotFound(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  return error.name === 'NotFound' || error.name === 'NoSuchKey' || error.$metadata.httpStatusCode === 404;
}

export async function headObject(s3: S3Client, bucket: string, key: string, versionId?: string) {
  try {
    return await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

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

const MAX_SINGLE_COPY = 5 * 1024 ** 3;
const COPY_PART = 512 * 1024 ** 2;

/** Copies an object; above 5 GB (CopyObject's limit) through a multipart copy. */
export async function copyObject(
  s3: S3Client,
  bucket: string,
  source: { key: string; versionId?: string; size: number },
  targetKey: string,
): Promise<void> {
  const copySource = `${bucket}/${encodeURIComponent(source.key).replaceAll('%2F', '/')}${
    source.versionId ? `?versionId=${encodeURIComponent(source.versionId)}` : ''
  }`;
  if (source.size <= MAX_SINGLE_COPY) {
    await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: targetKey, CopySource: copySource }));
    return;
  }
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: targetKey }));
  const parts: { ETag: string; PartNumber: number }[] = [];
  for (let start = 0, part = 1; start < source.size; start += COPY_PART, part++) {
    const end = Math.min(start + COPY_PART, source.size) - 1;
    const copied = await s3.send(
      new UploadPartCopyCommand({
        Bucket: bucket,
        Key: targetKey,
        UploadId,
        PartNumber: part,
        CopySource: copySource,
        CopySourceRange: `bytes=${start}-${end}`,
      }),
    );
    parts.push({ ETag: copied.CopyPartResult?.ETag ?? '', PartNumber: part });
  }
  await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: targetKey,
      UploadId,
      MultipartUpload: { Parts: parts },
    }),
  );
}

/**
 * Moves an object: copy first, delete the source only once the copy is there. Idempotent: a source already
 * gone with the target present counts as moved. Never loses the original.
 */
export async function moveObject(
  s3: S3Client,
  bucket: string,
  source: { key: string; versionId?: string },
  targetKey: string,
): Promise<'MOVED' | 'ALREADY_MOVED' | 'MISSING'> {
  const head = await headObject(s3, bucket, source.key, source.versionId);
  if (!head) {
    return (await headObject(s3, bucket, targetKey)) ? 'ALREADY_MOVED' : 'MISSING';
  }
  await copyObject(s3, bucket, { ...source, size: head.ContentLength ?? 0 }, targetKey);
  // Without a VersionId: a delete marker; the version stays until the lifecycle rule expires it.
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: source.key }));
  return 'MOVED';
}
