// Multipart uploads: Create, UploadPart, UploadPartCopy, Complete, Abort, ListParts, ListMultipartUploads.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import {
  declaredChecksumAlgorithm,
  header,
  readSmallBody,
  receiveBody,
  storedContentEncoding,
} from './body.ts';
import { metadataFromRequest, type S3Context, sendEmpty, sendXml, setChecksumHeader } from './context.ts';
import { invalidArgument, S3Error } from './errors.ts';
import {
  checksumNodes,
  copyBytes,
  createdEvent,
  newVersionId,
  openCopySource,
  parseCopySource,
  writeConditions,
} from './objects.ts';
import { assertValidKey, type PartMeta } from './storage.ts';
import { elements, text, type XmlNode } from './xml.ts';

/** S3's minimum size of every part but the last. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;

export async function createMultipartUpload(ctx: S3Context): Promise<void> {
  const { store, bucket, key, req, res } = ctx;
  assertValidKey(key);
  await store.assertBucket(bucket);
  const metadata = metadataFromRequest(req);
  const contentEncoding = storedContentEncoding(req);
  if (contentEncoding) metadata.headers['content-encoding'] = contentEncoding;
  const checksumAlgorithm = declaredChecksumAlgorithm(req);
  const upload = await store.createUpload({
    bucket,
    key,
    ...metadata,
    ...(checksumAlgorithm ? { checksumAlgorithm } : {}),
  });
  if (checksumAlgorithm) {
    res.setHeader('x-amz-checksum-algorithm', checksumAlgorithm);
    res.setHeader('x-amz-checksum-type', 'COMPOSITE');
  }
  sendXml(res, 200, 'InitiateMultipartUploadResult', [
    ['Bucket', bucket],
    ['Key', key],
    ['UploadId', upload.uploadId],
  ]);
}

function partNumberOf(ctx: S3Context): number {
  const raw = ctx.query.get('partNumber') ?? '';
  const partNumber = Number(raw);
  if (!/^\d+$/.test(raw) || partNumber < 1 || partNumber > 10_000) {
    throw invalidArgument('Part number must be an integer between 1 and 10000, inclusive', 'partNumber', raw);
  }
  return partNumber;
}

export async function uploadPart(ctx: S3Context): Promise<void> {
  const { store, bucket, key, req, res } = ctx;
  const uploadId = ctx.query.get('uploadId') ?? '';
  const partNumber = partNumberOf(ctx);
  await store.assertBucket(bucket);
  const upload = await store.readUpload(bucket, key, uploadId);
  const body = await receiveBody(req, store.tempPath(), upload.checksumAlgorithm);
  const part: PartMeta = {
    partNumber,
    etag: `"${body.md5}"`,
    size: body.size,
    lastModified: new Date().toISOString(),
    ...(body.checksum ? { checksum: body.checksum } : {}),
  };
  await store
    .withUpload(uploadId, async () => {
      await store.readUpload(bucket, key, uploadId);
      await store.commitPart(uploadId, body.tempFile, part);
    })
    .catch(async (error: unknown) => {
      await fs.rm(body.tempFile, { force: true });
      throw error;
    });
  res.setHeader('ETag', part.etag);
  setChecksumHeader(res, part.checksum);
  sendEmpty(res, 200);
}

export async function uploadPartCopy(ctx: S3Context): Promise<void> {
  const { store, bucket, key, req, res } = ctx;
  const uploadId = ctx.query.get('uploadId') ?? '';
  const partNumber = partNumberOf(ctx);
  await store.assertBucket(bucket);
  const upload = await store.readUpload(bucket, key, uploadId);
  const source = parseCopySource(header(req, 'x-amz-copy-source') ?? '');
  const { meta: sourceMeta, handle } = await openCopySource(ctx, source);
  const tempFile = store.tempPath();
  let copied: Awaited<ReturnType<typeof copyBytes>>;
  try {
    const rangeHeader = header(req, 'x-amz-copy-source-range');
    let range = { start: 0, end: sourceMeta.size - 1 };
    if (rangeHeader !== undefined) {
      const match = /^bytes=(\d+)-(\d+)$/.exec(rangeHeader.trim());
      const start = Number(match?.[1]);
      const end = Number(match?.[2]);
      if (!match || end < start || end >= sourceMeta.size) {
        throw new S3Error('InvalidRange', 416, 'The requested range is not satisfiable', {
          RangeRequested: rangeHeader,
          ActualObjectSize: String(sourceMeta.size),
        });
      }
      range = { start, end };
    }
    copied = await copyBytes(handle, tempFile, range, upload.checksumAlgorithm);
  } finally {
    await handle.close();
  }
  const part: PartMeta = {
    partNumber,
    etag: `"${copied.md5}"`,
    size: copied.size,
    lastModified: new Date().toISOString(),
    ...(copied.checksum ? { checksum: copied.checksum } : {}),
  };
  await store
    .withUpload(uploadId, async () => {
      await store.readUpload(bucket, key, uploadId);
      await store.commitPart(uploadId, tempFile, part);
    })
    .catch(async (error: unknown) => {
      await fs.rm(tempFile, { force: true });
      throw error;
    });
  res.setHeader('x-amz-copy-source-version-id', sourceMeta.versionId);
  sendXml(res, 200, 'CopyPartResult', [
    ['LastModified', part.lastModified],
    ['ETag', part.etag],
    ...checksumNodes(part.checksum),
  ]);
}

const unquote = (etag: string) => etag.trim().replaceAll('"', '').replaceAll('&quot;', '');

export async function completeMultipartUpload(ctx: S3Context): Promise<void> {
  const { store, bucket, key, req, res } = ctx;
  const uploadId = ctx.query.get('uploadId') ?? '';
  await store.assertBucket(bucket);
  await store.readUpload(bucket, key, uploadId);
  const xml = await readSmallBody(req);
  const requested = elements(xml, 'Part').map((part) => ({
    partNumber: Number(text(part, 'PartNumber')),
    etag: unquote(text(part, 'ETag') ?? ''),
  }));
  if (requested.length === 0) {
    throw new S3Error(
      'MalformedXML',
      400,
      'The XML you provided was not well-formed or did not validate against our published schema',
    );
  }
  const { meta, sequencer } = await store.withUpload(uploadId, async () => {
    const upload = await store.readUpload(bucket, key, uploadId);
    const stored = new Map((await store.listParts(uploadId)).map((part) => [part.partNumber, part]));
    const parts: PartMeta[] = [];
    requested.forEach((wanted, index) => {
      const previous = requested[index - 1];
      if (previous && wanted.partNumber <= previous.partNumber) {
        throw new S3Error(
          'InvalidPartOrder',
          400,
          'The list of parts was not in ascending order. Parts must be ordered by part number.',
          {
            UploadId: uploadId,
          },
        );
      }
      const part = stored.get(wanted.partNumber);
      if (!part || unquote(part.etag) !== wanted.etag) {
        throw new S3Error(
          'InvalidPart',
          400,
          "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
          { UploadId: uploadId, PartNumber: String(wanted.partNumber), ETag: wanted.etag },
        );
      }
      parts.push(part);
    });
    parts.forEach((part, index) => {
      if (index < parts.length - 1 && part.size < MIN_PART_SIZE) {
        throw new S3Error(
          'EntityTooSmall',
          400,
          'Your proposed upload is smaller than the minimum allowed object size.',
          {
            ProposedSize: String(part.size),
            MinSizeAllowed: String(MIN_PART_SIZE),
            PartNumber: String(part.partNumber),
            ETag: part.etag,
          },
        );
      }
    });
    const tempFile = store.tempPath();
    const out = createWriteStream(tempFile);
    try {
      for (const part of parts) {
        await pipeline(createReadStream(store.partFile(uploadId, part.partNumber)), out, { end: false });
      }
      out.end();
      await new Promise<void>((resolve, reject) => {
        out.once('finish', resolve);
        out.once('error', reject);
      });
    } catch (error) {
      out.destroy();
      await fs.rm(tempFile, { force: true });
      throw error;
    }
    const md5s = Buffer.concat(parts.map((part) => Buffer.from(unquote(part.etag), 'hex')));
    const etag = `"${createHash('md5').update(md5s).digest('hex')}-${parts.length}"`;
    const committed = await store
      .commitObject(
        bucket,
        key,
        tempFile,
        {
          key,
          size: parts.reduce((total, part) => total + part.size, 0),
          etag,
          versionId: newVersionId(),
          lastModified: new Date().toISOString(),
          contentType: upload.contentType,
          headers: upload.headers,
          userMetadata: upload.userMetadata,
          partsCount: parts.length,
        },
        writeConditions(ctx),
      )
      .catch(async (error: unknown) => {
        await fs.rm(tempFile, { force: true });
        throw error;
      });
    await store.removeUpload(uploadId);
    return committed;
  });
  ctx.emitCreated(createdEvent(bucket, meta, sequencer, 'CompleteMultipartUpload'));
  res.setHeader('x-amz-version-id', meta.versionId);
  sendXml(res, 200, 'CompleteMultipartUploadResult', [
    ['Location', `/${bucket}/${encodeURIComponent(key).replaceAll('%2F', '/')}`],
    ['Bucket', bucket],
    ['Key', key],
    ['ETag', meta.etag],
  ]);
}

export async function abortMultipartUpload(ctx: S3Context): Promise<void> {
  const { store, bucket, key } = ctx;
  const uploadId = ctx.query.get('uploadId') ?? '';
  await store.assertBucket(bucket);
  await store.withUpload(uploadId, async () => {
    await store.readUpload(bucket, key, uploadId);
    await store.removeUpload(uploadId);
  });
  sendEmpty(ctx.res, 204);
}

export async function listParts(ctx: S3Context): Promise<void> {
  const { store, bucket, key, query } = ctx;
  const uploadId = query.get('uploadId') ?? '';
  await store.assertBucket(bucket);
  const upload = await store.readUpload(bucket, key, uploadId);
  const marker = Number(query.get('part-number-marker') ?? 0);
  const maxParts = Math.min(1000, Math.max(0, Number(query.get('max-parts') ?? 1000)));
  const after = (await store.listParts(uploadId)).filter((part) => part.partNumber > marker);
  const page = after.slice(0, maxParts);
  const truncated = after.length > page.length;
  const partNodes: XmlNode[] = page.map((part) => [
    'Part',
    [
      ['PartNumber', part.partNumber],
      ['LastModified', part.lastModified],
      ['ETag', part.etag],
      ['Size', part.size],
      ...checksumNodes(part.checksum),
    ],
  ]);
  sendXml(ctx.res, 200, 'ListPartsResult', [
    ['Bucket', bucket],
    ['Key', key],
    ['UploadId', uploadId],
    ['PartNumberMarker', marker],
    ['NextPartNumberMarker', page.at(-1)?.partNumber ?? marker],
    ['MaxParts', maxParts],
    ['IsTruncated', truncated],
    ['StorageClass', 'STANDARD'],
    ['ChecksumAlgorithm', upload.checksumAlgorithm],
    ...partNodes,
  ]);
}

export async function listMultipartUploads(ctx: S3Context): Promise<void> {
  const { store, bucket, query } = ctx;
  await store.assertBucket(bucket);
  const prefix = query.get('prefix') ?? '';
  const uploads = (await store.listUploads(bucket)).filter((upload) => upload.key.startsWith(prefix));
  sendXml(ctx.res, 200, 'ListMultipartUploadsResult', [
    ['Bucket', bucket],
    ['KeyMarker', ''],
    ['UploadIdMarker', ''],
    ['Prefix', prefix],
    ['MaxUploads', 1000],
    ['IsTruncated', false],
    ...uploads.map(
      (upload): XmlNode => [
        'Upload',
        [
          ['Key', upload.key],
          ['UploadId', upload.uploadId],
          ['Initiated', upload.initiated],
          ['StorageClass', 'STANDARD'],
          ['ChecksumAlgorithm', upload.checksumAlgorithm],
        ],
      ],
    ),
  ]);
}
