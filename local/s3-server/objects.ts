// Object operations: PutObject, GetObject, HeadObject, DeleteObject, DeleteObjects, CopyObject.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { HashingPassThrough, header, readSmallBody, receiveBody, storedContentEncoding } from './body.ts';
import { algorithmFromHeader, type ChecksumAlgorithm } from './checksums.ts';
import {
  httpDate,
  metadataFromRequest,
  type S3Context,
  sendEmpty,
  sendXml,
  setChecksumHeader,
} from './context.ts';
import { invalidArgument, noSuchKey, preconditionFailed, S3Error } from './errors.ts';
import { assertValidKey, type ObjectMeta } from './storage.ts';
import { tagsFromHeader } from './tagging.ts';
import { elements, text, type XmlNode } from './xml.ts';

export function newVersionId(): string {
  return randomBytes(24).toString('base64url');
}

const unquote = (etag: string) => etag.trim().replace(/^W\//, '').replaceAll('"', '');

function etagMatches(list: string, etag: string): boolean {
  return list
    .split(',')
    .some((candidate) => candidate.trim() === '*' || unquote(candidate) === unquote(etag));
}

/** Conditional writes (If-None-Match: * and If-Match), checked against the current version under the lock. */
export function writeConditions(ctx: S3Context): ((current: ObjectMeta | undefined) => void) | undefined {
  const ifNoneMatch = header(ctx.req, 'if-none-match');
  const ifMatch = header(ctx.req, 'if-match');
  if (ifNoneMatch === undefined && ifMatch === undefined) return undefined;
  return (current) => {
    if (ifNoneMatch !== undefined && current && etagMatches(ifNoneMatch, current.etag)) {
      throw preconditionFailed('If-None-Match');
    }
    if (ifMatch !== undefined && !current) throw noSuchKey(ctx.key);
    if (ifMatch !== undefined && current && !etagMatches(ifMatch, current.etag)) {
      throw preconditionFailed('If-Match');
    }
  };
}

export async function putObject(ctx: S3Context): Promise<void> {
  const { store, bucket, key, req, res } = ctx;
  assertValidKey(key);
  await store.assertBucket(bucket);
  const body = await receiveBody(req, store.tempPath());
  const metadata = metadataFromRequest(req);
  const contentEncoding = storedContentEncoding(req);
  if (contentEncoding) metadata.headers['content-encoding'] = contentEncoding;
  const tags = tagsFromHeader(header(req, 'x-amz-tagging'));
  const { meta, sequencer } = await store
    .commitObject(
      bucket,
      key,
      body.tempFile,
      {
        key,
        size: body.size,
        etag: `"${body.md5}"`,
        versionId: newVersionId(),
        lastModified: new Date().toISOString(),
        ...metadata,
        ...(body.checksum ? { checksum: body.checksum } : {}),
        ...(tags ? { tags } : {}),
      },
      writeConditions(ctx),
    )
    .catch(async (error: unknown) => {
      await fs.rm(body.tempFile, { force: true });
      throw error;
    });
  ctx.emitCreated(createdEvent(bucket, meta, sequencer, 'PutObject'));
  res.setHeader('ETag', meta.etag);
  res.setHeader('x-amz-version-id', meta.versionId);
  setChecksumHeader(res, meta.checksum);
  if (meta.checksum) res.setHeader('x-amz-checksum-type', 'FULL_OBJECT');
  sendEmpty(res, 200);
}

export function createdEvent(
  bucket: string,
  meta: ObjectMeta,
  sequencer: string,
  reason: 'PutObject' | 'CompleteMultipartUpload' | 'CopyObject',
) {
  return {
    bucket,
    key: meta.key,
    size: meta.size,
    etag: meta.etag,
    versionId: meta.versionId,
    sequencer,
    reason,
    time: meta.lastModified,
  };
}

interface ByteRange {
  start: number;
  end: number;
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n`; undefined when absent or not one well-formed range (S3 then ignores it). */
export function parseRange(value: string | undefined, size: number, key: string): ByteRange | undefined {
  const match = value === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  const unsatisfiable = () =>
    new S3Error('InvalidRange', 416, 'The requested range is not satisfiable', {
      RangeRequested: value ?? '',
      ActualObjectSize: String(size),
      Key: key,
    });
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) throw unsatisfiable();
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (match[2] !== '' && Number(match[2]) < start) return undefined;
  if (start >= size) throw unsatisfiable();
  return { start, end };
}

const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'Content-Type',
  'response-content-language': 'Content-Language',
  'response-expires': 'Expires',
  'response-cache-control': 'Cache-Control',
  'response-content-disposition': 'Content-Disposition',
  'response-content-encoding': 'Content-Encoding',
};

function setObjectHeaders(ctx: S3Context, meta: ObjectMeta): void {
  const { res, query } = ctx;
  res.setHeader('Content-Type', meta.contentType);
  res.setHeader('ETag', meta.etag);
  res.setHeader('Last-Modified', httpDate(meta.lastModified));
  res.setHeader('x-amz-version-id', meta.versionId);
  res.setHeader('Accept-Ranges', 'bytes');
  for (const [name, value] of Object.entries(meta.headers)) res.setHeader(name, value);
  for (const [name, value] of Object.entries(meta.userMetadata)) res.setHeader(`x-amz-meta-${name}`, value);
  for (const [param, name] of Object.entries(RESPONSE_OVERRIDES)) {
    const value = query.get(param);
    if (value !== null) res.setHeader(name, value);
  }
}

/** Read preconditions: If-Match/If-Unmodified-Since → 412, If-None-Match/If-Modified-Since → 304. */
function readPreconditions(ctx: S3Context, meta: ObjectMeta): 304 | undefined {
  const ifMatch = header(ctx.req, 'if-match');
  const ifNoneMatch = header(ctx.req, 'if-none-match');
  const ifModifiedSince = header(ctx.req, 'if-modified-since');
  const ifUnmodifiedSince = header(ctx.req, 'if-unmodified-since');
  const modified = Math.floor(Date.parse(meta.lastModified) / 1000) * 1000;
  if (ifMatch !== undefined && !etagMatches(ifMatch, meta.etag)) throw preconditionFailed('If-Match');
  if (ifMatch === undefined && ifUnmodifiedSince !== undefined && modified > Date.parse(ifUnmodifiedSince)) {
    throw preconditionFailed('If-Unmodified-Since');
  }
  if (ifNoneMatch !== undefined) return etagMatches(ifNoneMatch, meta.etag) ? 304 : undefined;
  if (ifModifiedSince !== undefined && modified <= Date.parse(ifModifiedSince)) return 304;
  return undefined;
}

function assertVersion(ctx: S3Context, meta: ObjectMeta): void {
  const versionId = ctx.query.get('versionId');
  if (versionId !== null && versionId !== 'null' && versionId !== meta.versionId) {
    throw new S3Error('NoSuchVersion', 404, 'The specified version does not exist.', {
      Key: ctx.key,
      VersionId: versionId,
    });
  }
}

/** GET and HEAD: HEAD answers the same headers without a body. */
export async function getObject(ctx: S3Context, headOnly: boolean): Promise<void> {
  const { store, bucket, key, req, res } = ctx;
  if (ctx.query.has('partNumber') && ctx.query.get('partNumber') !== '1') {
    throw invalidArgument('This server only serves partNumber=1 (the whole object)', 'partNumber');
  }
  const { meta, handle } = await store.openObject(bucket, key);
  try {
    assertVersion(ctx, meta);
    const notModified = readPreconditions(ctx, meta);
    setObjectHeaders(ctx, meta);
    if (notModified) {
      res.removeHeader('Content-Type');
      sendEmpty(res, 304);
      return;
    }
    const range = parseRange(header(req, 'range'), meta.size, key);
    // The SDK validates a response checksum against the bytes it receives: only a whole single-part object has one.
    if (!range && meta.checksum && header(req, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED') {
      setChecksumHeader(res, meta.checksum);
      res.setHeader('x-amz-checksum-type', 'FULL_OBJECT');
    }
    if (meta.partsCount !== undefined && ctx.query.get('partNumber') === '1') {
      res.setHeader('x-amz-mp-parts-count', meta.partsCount);
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? meta.size - 1;
    res.statusCode = range ? 206 : 200;
    if (range) res.setHeader('Content-Range', `bytes ${start}-${end}/${meta.size}`);
    res.setHeader('Content-Length', Math.max(0, end - start + 1));
    if (headOnly || end < start) {
      res.end();
      return;
    }
    await pipeline(handle.createReadStream({ start, end, autoClose: false }), res);
  } finally {
    await handle.close();
  }
}

export async function deleteObject(ctx: S3Context): Promise<void> {
  const { store, bucket, key, res } = ctx;
  assertValidKey(key);
  const versionId = ctx.query.get('versionId') ?? undefined;
  await store.deleteObject(bucket, key, versionId);
  if (versionId !== undefined) res.setHeader('x-amz-version-id', versionId);
  sendEmpty(res, 204);
}

export async function deleteObjects(ctx: S3Context): Promise<void> {
  const { store, bucket, res } = ctx;
  await store.assertBucket(bucket);
  const xml = await readSmallBody(ctx.req);
  const quiet = text(xml, 'Quiet')?.trim() === 'true';
  const objects = elements(xml, 'Object');
  if (objects.length > 1000)
    throw new S3Error('MalformedXML', 400, 'A DeleteObjects request takes 1000 keys at most');
  const results: XmlNode[] = [];
  for (const object of objects) {
    const key = text(object, 'Key') ?? '';
    const versionId = text(object, 'VersionId');
    try {
      assertValidKey(key);
      await store.deleteObject(bucket, key, versionId);
      if (!quiet)
        results.push([
          'Deleted',
          [
            ['Key', key],
            ['VersionId', versionId],
          ],
        ]);
    } catch (error) {
      const s3Error = error instanceof S3Error ? error : new S3Error('InternalError', 500, 'Delete failed');
      results.push([
        'Error',
        [
          ['Key', key],
          ['VersionId', versionId],
          ['Code', s3Error.code],
          ['Message', s3Error.message],
        ],
      ]);
    }
  }
  sendXml(res, 200, 'DeleteResult', results);
}

export interface CopySource {
  bucket: string;
  key: string;
  versionId?: string;
}

/** `x-amz-copy-source`: `[/]bucket/key[?versionId=…]`, the bucket and key URL-encoded. */
export function parseCopySource(value: string): CopySource {
  const [encodedPath = '', queryString] = value.split('?', 2);
  let decoded: string;
  try {
    decoded = decodeURIComponent(encodedPath.replace(/^\//, ''));
  } catch {
    throw invalidArgument('Invalid copy source encoding', 'x-amz-copy-source', value);
  }
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) {
    throw invalidArgument(
      'Copy Source must mention the source bucket and key: sourcebucket/sourcekey',
      'x-amz-copy-source',
      value,
    );
  }
  const versionId = queryString
    ? (new URLSearchParams(queryString).get('versionId') ?? undefined)
    : undefined;
  return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1), versionId };
}

/** Opens a copy source, checking its version id and the x-amz-copy-source-if-* conditions. */
export async function openCopySource(ctx: S3Context, source: CopySource) {
  const opened = await ctx.store.openObject(source.bucket, source.key);
  const { meta } = opened;
  try {
    if (
      source.versionId !== undefined &&
      source.versionId !== 'null' &&
      source.versionId !== meta.versionId
    ) {
      throw new S3Error('NoSuchVersion', 404, 'The specified version does not exist.', {
        Key: source.key,
        VersionId: source.versionId,
      });
    }
    const ifMatch = header(ctx.req, 'x-amz-copy-source-if-match');
    const ifNoneMatch = header(ctx.req, 'x-amz-copy-source-if-none-match');
    if (ifMatch !== undefined && !etagMatches(ifMatch, meta.etag))
      throw preconditionFailed('x-amz-copy-source-If-Match');
    if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, meta.etag)) {
      throw preconditionFailed('x-amz-copy-source-If-None-Match');
    }
    return opened;
  } catch (error) {
    await opened.handle.close();
    throw error;
  }
}

/** Copies bytes [start, end] of an open file into a temp file, hashing them on the way. */
export async function copyBytes(
  handle: fs.FileHandle,
  tempFile: string,
  range: { start: number; end: number },
  algorithm: ChecksumAlgorithm | undefined,
): Promise<{ size: number; md5: string; checksum?: { algorithm: ChecksumAlgorithm; value: string } }> {
  const hashing = new HashingPassThrough(algorithm);
  try {
    if (range.end < range.start) {
      await pipeline(hashing.end() as HashingPassThrough, createWriteStream(tempFile));
    } else {
      await pipeline(
        handle.createReadStream({ start: range.start, end: range.end, autoClose: false }),
        hashing,
        createWriteStream(tempFile),
      );
    }
  } catch (error) {
    await fs.rm(tempFile, { force: true });
    throw error;
  }
  const digests = await hashing.digests();
  return { size: hashing.size, md5: digests.md5, checksum: digests.checksum };
}

export async function copyObject(ctx: S3Context): Promise<void> {
  const { store, bucket, key, req, res } = ctx;
  assertValidKey(key);
  await store.assertBucket(bucket);
  const source = parseCopySource(header(req, 'x-amz-copy-source') ?? '');
  const directive = (header(req, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') {
    throw invalidArgument('Unknown metadata directive.', 'x-amz-metadata-directive', directive);
  }
  if (source.bucket === bucket && source.key === key && directive === 'COPY') {
    throw new S3Error(
      'InvalidRequest',
      400,
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  }
  const { meta: sourceMeta, handle } = await openCopySource(ctx, source);
  const requested = header(req, 'x-amz-checksum-algorithm');
  const algorithm = requested
    ? algorithmFromHeader(`x-amz-checksum-${requested}`)
    : sourceMeta.checksum?.algorithm;
  let copied: Awaited<ReturnType<typeof copyBytes>>;
  const tempFile = store.tempPath();
  try {
    copied = await copyBytes(handle, tempFile, { start: 0, end: sourceMeta.size - 1 }, algorithm);
  } finally {
    await handle.close();
  }
  const metadata =
    directive === 'REPLACE'
      ? metadataFromRequest(req)
      : {
          contentType: sourceMeta.contentType,
          headers: sourceMeta.headers,
          userMetadata: sourceMeta.userMetadata,
        };
  const { meta, sequencer } = await store
    .commitObject(
      bucket,
      key,
      tempFile,
      {
        key,
        size: copied.size,
        etag: `"${copied.md5}"`,
        versionId: newVersionId(),
        lastModified: new Date().toISOString(),
        ...metadata,
        ...(copied.checksum ? { checksum: copied.checksum } : {}),
      },
      writeConditions(ctx),
    )
    .catch(async (error: unknown) => {
      await fs.rm(tempFile, { force: true });
      throw error;
    });
  ctx.emitCreated(createdEvent(bucket, meta, sequencer, 'CopyObject'));
  res.setHeader('x-amz-version-id', meta.versionId);
  res.setHeader('x-amz-copy-source-version-id', sourceMeta.versionId);
  sendXml(res, 200, 'CopyObjectResult', [
    ['LastModified', meta.lastModified],
    ['ETag', meta.etag],
    ...checksumNodes(meta.checksum),
  ]);
}

export function checksumNodes(
  checksum: { algorithm: ChecksumAlgorithm; value: string } | undefined,
): XmlNode[] {
  return checksum ? [[`Checksum${checksum.algorithm}`, checksum.value]] : [];
}
