// Object tagging (PutObjectTagging, GetObjectTagging, DeleteObjectTagging) on the current version, and the tags
// a PutObject's `x-amz-tagging` header sets. Tags are stored, not acted on: lifecycle rules do not run here.
import { readSmallBody } from './body.ts';
import { type S3Context, sendEmpty, sendXml } from './context.ts';
import { invalidArgument, noSuchKey } from './errors.ts';
import { elements, text } from './xml.ts';

/** S3's limit per object (S3 user guide, "Categorizing your storage using tags"). */
const MAX_TAGS = 10;

/** The tags of an `x-amz-tagging` header (URL query form), or undefined without one. */
export function tagsFromHeader(header: string | undefined): Record<string, string> | undefined {
  if (header === undefined) return undefined;
  const tags = Object.fromEntries(new URLSearchParams(header));
  if (Object.keys(tags).length > MAX_TAGS) throw invalidArgument('Object tags cannot be greater than 10');
  return tags;
}

export async function putObjectTagging(ctx: S3Context): Promise<void> {
  const body = await readSmallBody(ctx.req);
  const tags: Record<string, string> = {};
  for (const tag of elements(body, 'Tag')) {
    const key = text(tag, 'Key');
    if (!key) throw invalidArgument('A tag needs a Key', 'Tagging');
    tags[key] = text(tag, 'Value') ?? '';
  }
  if (Object.keys(tags).length > MAX_TAGS) throw invalidArgument('Object tags cannot be greater than 10');
  const meta = await ctx.store.updateMeta(ctx.bucket, ctx.key, (current) => ({ ...current, tags }));
  ctx.res.setHeader('x-amz-version-id', meta.versionId);
  sendEmpty(ctx.res, 200);
}

export async function getObjectTagging(ctx: S3Context): Promise<void> {
  const meta = await ctx.store.readMeta(ctx.bucket, ctx.key);
  if (!meta) throw noSuchKey(ctx.key);
  ctx.res.setHeader('x-amz-version-id', meta.versionId);
  const tagSet = Object.entries(meta.tags ?? {}).map(([key, value]): [string, [string, string][]] => [
    'Tag',
    [
      ['Key', key],
      ['Value', value],
    ],
  ]);
  sendXml(ctx.res, 200, 'Tagging', [['TagSet', tagSet]]);
}

export async function deleteObjectTagging(ctx: S3Context): Promise<void> {
  const meta = await ctx.store.updateMeta(ctx.bucket, ctx.key, ({ tags: _removed, ...rest }) => rest);
  ctx.res.setHeader('x-amz-version-id', meta.versionId);
  sendEmpty(ctx.res, 204);
}
