// The parts of a folder drop (`incoming/<path>/<name>.parts/`): which listed objects hold data, and the parts a
// Redshift UNLOAD manifest names. Pure: the caller lists and reads, so the rules are tested without S3.
import * as z from 'zod';
import { COMPLETION_MARKERS } from './naming.ts';

export interface ListedObject {
  key: string;
  size: number;
}

export interface SelectedParts {
  /** The data parts, in S3's key order (UTF-8 bytes), zero-byte parts included: they are empty parts. */
  parts: ListedObject[];
  /** Every other listed object with why it is not a part, in key order. */
  ignored: { key: string; reason: string }[];
}

/** S3 lists keys in UTF-8 binary order; JavaScript's default sort compares UTF-16 units, which differs above U+FFFF. */
function byKey(a: { key: string }, b: { key: string }): number {
  return Buffer.compare(Buffer.from(a.key, 'utf8'), Buffer.from(b.key, 'utf8'));
}

/** Why a listed object is not a data part of `folder`, or undefined when it is one. */
function notAPart(key: string, folder: string): string | undefined {
  if (!key.startsWith(folder)) return `not in ${folder}`;
  const name = key.slice(folder.length);
  if (name === '') return "the folder's own key";
  if (name.includes('/')) return 'in a subfolder: only objects directly in the folder are parts';
  if (COMPLETION_MARKERS.includes(name)) return 'the completion marker';
  // Hadoop's s3n wrote `<dir>_$folder$` for each directory; it holds no rows.
  if (name.endsWith('_$folder$')) return 'a Hadoop folder key ($folder$)';
  // Spark and Hadoop readers skip such names too: `_committed_…`, `_started_…`, `.part-00000.crc`.
  if (name.startsWith('_') || name.startsWith('.')) return 'hidden: its name starts with _ or .';
  return undefined;
}

/**
 * The data parts of a listing of `folder` (with its trailing slash), e.g. every ListObjectsV2 page of
 * `Prefix: incoming/x/y.parts/`: markers, hidden names, `$folder$` keys and anything in a subfolder are left out
 * with a reason; everything else is a part, whatever its name or size.
 */
export function selectParts(objects: readonly ListedObject[], folder: string): SelectedParts {
  const parts: ListedObject[] = [];
  const ignored: SelectedParts['ignored'] = [];
  for (const object of [...objects].sort(byKey)) {
    const reason = notAPart(object.key, folder);
    if (reason === undefined) parts.push({ key: object.key, size: object.size });
    else ignored.push({ key: object.key, reason });
  }
  return { parts, ignored };
}

/** A Redshift UNLOAD manifest that cannot be used: its message says what to fix. */
export class PartsManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PartsManifestError';
  }
}

/**
 * `UNLOAD ... MANIFEST [VERBOSE]` writes `{"entries": [{"url": "s3://bucket/key", "meta": {"content_length": N}}]}`
 * (VERBOSE adds `schema`, `author` and a top-level `meta`; a COPY manifest's entries carry `mandatory`). Keys
 * this does not read are allowed, so a manifest of any of those shapes parses.
 */
const redshiftManifestSchema = z.object({
  entries: z.array(
    z.object({
      url: z.string().min(1),
      meta: z.object({ content_length: z.number().int().nonnegative().optional() }).optional(),
    }),
  ),
});

export interface ManifestPart {
  key: string;
  /** `meta.content_length`, when the manifest gives it: the part's size in bytes. */
  size?: number;
}

/**
 * The parts a Redshift manifest names, in key order. Each URL must be `s3://<bucket>/<folder><name>`: in this
 * bucket and directly in the drop's folder (the URL's key is taken as written: Redshift writes the key as it
 * is, not percent-encoded), and not a marker. Throws a PartsManifestError for anything else.
 */
export function parseRedshiftManifest(text: string, bucket: string, folder: string): ManifestPart[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new PartsManifestError(`the manifest is not JSON: ${(error as Error).message}`);
  }
  const parsed = redshiftManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : '(root)';
    throw new PartsManifestError(
      `the manifest is not a Redshift UNLOAD manifest ({"entries": [{"url": "s3://…"}]}): ${where}: ${issue?.message ?? 'invalid'}`,
    );
  }
  const seen = new Set<string>();
  const parts: ManifestPart[] = [];
  parsed.data.entries.forEach((entry, index) => {
    const where = `entries.${index}.url ${JSON.stringify(entry.url)}`;
    const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(entry.url);
    if (!match) throw new PartsManifestError(`${where} is not an s3://bucket/key URL`);
    const [, urlBucket = '', key = ''] = match;
    if (urlBucket !== bucket) throw new PartsManifestError(`${where} is in another bucket than ${bucket}`);
    const reason = notAPart(key, folder);
    if (reason !== undefined) {
      throw new PartsManifestError(`${where} is not a part directly in s3://${bucket}/${folder}: ${reason}`);
    }
    if (seen.has(key)) throw new PartsManifestError(`${where} is listed twice`);
    seen.add(key);
    const size = entry.meta?.content_length;
    parts.push(size === undefined ? { key } : { key, size });
  });
  return parts.sort(byKey);
}
