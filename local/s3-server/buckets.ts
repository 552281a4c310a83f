// Bucket operations: ListBuckets, Create/Head/DeleteBucket, location, versioning, ListObjects v1/v2 and versions.
import { type S3Context, sendEmpty, sendXml } from './context.ts';
import { invalidArgument } from './errors.ts';
import { listPage, urlEncodeKey } from './list.ts';
import type { ObjectMeta } from './storage.ts';
import { escapeXml, S3_XMLNS, type XmlNode } from './xml.ts';

const OWNER: XmlNode[] = [
  ['ID', '0000000000000000000000000000000000000000000000000000000000000000'],
  ['DisplayName', 'local'],
];

export async function listBuckets(ctx: S3Context): Promise<void> {
  const buckets = await ctx.store.listBuckets();
  sendXml(ctx.res, 200, 'ListAllMyBucketsResult', [
    ['Owner', OWNER],
    [
      'Buckets',
      buckets.map(
        (bucket): XmlNode => [
          'Bucket',
          [
            ['Name', bucket.name],
            ['CreationDate', bucket.created.toISOString()],
          ],
        ],
      ),
    ],
  ]);
}

export async function createBucket(ctx: S3Context): Promise<void> {
  await ctx.store.createBucket(ctx.bucket);
  ctx.res.setHeader('Location', `/${ctx.bucket}`);
  sendEmpty(ctx.res, 200);
}

export async function headBucket(ctx: S3Context): Promise<void> {
  await ctx.store.assertBucket(ctx.bucket);
  ctx.res.setHeader('x-amz-bucket-region', ctx.region);
  sendEmpty(ctx.res, 200);
}

export async function deleteBucket(ctx: S3Context): Promise<void> {
  await ctx.store.deleteBucket(ctx.bucket);
  sendEmpty(ctx.res, 204);
}

export async function getBucketLocation(ctx: S3Context): Promise<void> {
  await ctx.store.assertBucket(ctx.bucket);
  // us-east-1 is the empty LocationConstraint, as in S3.
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="${S3_XMLNS}">${
    ctx.region === 'us-east-1' ? '' : escapeXml(ctx.region)
  }</LocationConstraint>`;
  ctx.res.setHeader('Content-Type', 'application/xml');
  ctx.res.end(body);
}

export async function getBucketVersioning(ctx: S3Context): Promise<void> {
  await ctx.store.assertBucket(ctx.bucket);
  sendXml(ctx.res, 200, 'VersioningConfiguration', [['Status', 'Enabled']]);
}

/** Versioning is always on here; a PutBucketVersioning is accepted and changes nothing. */
export async function putBucketVersioning(ctx: S3Context): Promise<void> {
  await ctx.store.assertBucket(ctx.bucket);
  ctx.req.resume();
  sendEmpty(ctx.res, 200);
}

function maxKeysOf(ctx: S3Context, param = 'max-keys'): number {
  const raw = ctx.query.get(param);
  if (raw === null) return 1000;
  const value = Number(raw);
  if (!/^\d+$/.test(raw))
    throw invalidArgument('Provided max-keys not an integer or within integer range', param, raw);
  return Math.min(value, 1000);
}

function encodingOf(ctx: S3Context): ((value: string) => string) | undefined {
  const encoding = ctx.query.get('encoding-type');
  if (encoding === null) return undefined;
  if (encoding !== 'url')
    throw invalidArgument('Invalid Encoding Method specified in Request', 'encoding-type', encoding);
  return urlEncodeKey;
}

async function contentsNodes(
  ctx: S3Context,
  keys: string[],
  encode: (value: string) => string,
): Promise<XmlNode[]> {
  const nodes: XmlNode[] = [];
  for (const key of keys) {
    const meta = await ctx.store.readMeta(ctx.bucket, key);
    if (!meta) continue; // deleted between the listing and now
    nodes.push(['Contents', objectFields(meta, encode)]);
  }
  return nodes;
}

function objectFields(meta: ObjectMeta, encode: (value: string) => string): XmlNode[] {
  return [
    ['Key', encode(meta.key)],
    ['LastModified', meta.lastModified],
    ['ETag', meta.etag],
    ...(meta.checksum ? ([['ChecksumAlgorithm', meta.checksum.algorithm]] as XmlNode[]) : []),
    ...(meta.checksum ? ([['ChecksumType', 'FULL_OBJECT']] as XmlNode[]) : []),
    ['Size', meta.size],
    ['StorageClass', 'STANDARD'],
  ];
}

interface ContinuationToken {
  after: string;
  afterIsPrefix: boolean;
}

function decodeToken(token: string): ContinuationToken {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<ContinuationToken>;
    if (typeof parsed.after === 'string')
      return { after: parsed.after, afterIsPrefix: parsed.afterIsPrefix === true };
  } catch {
    // fall through to the error below
  }
  throw invalidArgument('The continuation token provided is incorrect', 'continuation-token', token);
}

/** What every listing reads first: the bucket must exist; prefix, delimiter, page size and key encoding. */
async function listRequest(ctx: S3Context) {
  await ctx.store.assertBucket(ctx.bucket);
  const encoder = encodingOf(ctx);
  return {
    encoder,
    encode: encoder ?? ((value: string) => value),
    prefix: ctx.query.get('prefix') ?? '',
    delimiter: ctx.query.get('delimiter') ?? '',
    maxKeys: maxKeysOf(ctx),
  };
}

export async function listObjectsV2(ctx: S3Context): Promise<void> {
  const { store, bucket, query } = ctx;
  const { encoder, encode, prefix, delimiter, maxKeys } = await listRequest(ctx);
  const startAfter = query.get('start-after') ?? undefined;
  const token = query.get('continuation-token') ?? undefined;
  const resume = token !== undefined ? decodeToken(token) : undefined;
  const page = listPage(await store.listKeys(bucket), {
    prefix,
    delimiter,
    maxKeys,
    after: resume?.after ?? startAfter,
    afterIsPrefix: resume ? resume.afterIsPrefix : false,
  });
  const next =
    page.isTruncated && page.last !== undefined
      ? Buffer.from(JSON.stringify({ after: page.last, afterIsPrefix: page.lastIsPrefix === true })).toString(
          'base64url',
        )
      : undefined;
  sendXml(ctx.res, 200, 'ListBucketResult', [
    ['Name', bucket],
    ['Prefix', encode(prefix)],
    ['Delimiter', delimiter === '' ? undefined : encode(delimiter)],
    ['MaxKeys', maxKeys],
    ['EncodingType', encoder ? 'url' : undefined],
    ['KeyCount', page.keys.length + page.commonPrefixes.length],
    ['IsTruncated', page.isTruncated],
    ['ContinuationToken', token],
    ['NextContinuationToken', next],
    ['StartAfter', startAfter === undefined ? undefined : encode(startAfter)],
    ...(await contentsNodes(ctx, page.keys, encode)),
    ...page.commonPrefixes.map(
      (commonPrefix): XmlNode => ['CommonPrefixes', [['Prefix', encode(commonPrefix)]]],
    ),
  ]);
}

export async function listObjectsV1(ctx: S3Context): Promise<void> {
  const { store, bucket, query } = ctx;
  const { encoder, encode, prefix, delimiter, maxKeys } = await listRequest(ctx);
  const marker = query.get('marker') ?? '';
  const page = listPage(await store.listKeys(bucket), {
    prefix,
    delimiter,
    maxKeys,
    after: marker === '' ? undefined : marker,
  });
  sendXml(ctx.res, 200, 'ListBucketResult', [
    ['Name', bucket],
    ['Prefix', encode(prefix)],
    ['Marker', encode(marker)],
    ['Delimiter', delimiter === '' ? undefined : encode(delimiter)],
    ['MaxKeys', maxKeys],
    ['EncodingType', encoder ? 'url' : undefined],
    ['IsTruncated', page.isTruncated],
    // S3 sends NextMarker only with a delimiter; clients use the last key otherwise.
    [
      'NextMarker',
      page.isTruncated && delimiter !== '' && page.last !== undefined ? encode(page.last) : undefined,
    ],
    ...(await contentsNodes(ctx, page.keys, encode)),
    ...page.commonPrefixes.map(
      (commonPrefix): XmlNode => ['CommonPrefixes', [['Prefix', encode(commonPrefix)]]],
    ),
  ]);
}

/** ListObjectVersions over the current versions only (older versions are not kept). */
export async function listObjectVersions(ctx: S3Context): Promise<void> {
  const { store, bucket, query } = ctx;
  const { encoder, encode, prefix, delimiter, maxKeys } = await listRequest(ctx);
  const keyMarker = query.get('key-marker') ?? '';
  const page = listPage(await store.listKeys(bucket), {
    prefix,
    delimiter,
    maxKeys,
    after: keyMarker === '' ? undefined : keyMarker,
  });
  const versions: XmlNode[] = [];
  for (const key of page.keys) {
    const meta = await store.readMeta(bucket, key);
    if (!meta) continue;
    const fields = objectFields(meta, encode);
    versions.push([
      'Version',
      [fields[0]!, ['VersionId', meta.versionId], ['IsLatest', true], ...fields.slice(1)],
    ]);
  }
  sendXml(ctx.res, 200, 'ListVersionsResult', [
    ['Name', bucket],
    ['Prefix', encode(prefix)],
    ['KeyMarker', encode(keyMarker)],
    ['VersionIdMarker', ''],
    ['Delimiter', delimiter === '' ? undefined : encode(delimiter)],
    ['MaxKeys', maxKeys],
    ['EncodingType', encoder ? 'url' : undefined],
    ['IsTruncated', page.isTruncated],
    ['NextKeyMarker', page.isTruncated && page.last !== undefined ? encode(page.last) : undefined],
    ...versions,
    ...page.commonPrefixes.map(
      (commonPrefix): XmlNode => ['CommonPrefixes', [['Prefix', encode(commonPrefix)]]],
    ),
  ]);
}
