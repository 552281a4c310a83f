// Names derived from an object key: execution names, audience names, staging folders, report and archive keys.
import { createHash } from 'node:crypto';

const INCOMING = 'incoming/';
/** Step Functions caps execution names at 80 characters. */
const MAX_EXECUTION_NAME = 80;
const HASH_LENGTH = 8;
const MAX_STAGING_SLUG = 60;

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The key below `incoming/`, e.g. `teamA/spring-churn.csv`. */
export function belowIncoming(key: string): string {
  return key.startsWith(INCOMING) ? key.slice(INCOMING.length) : key;
}

/** The first folder below `incoming/` (`teamA` for `incoming/teamA/x.csv`), empty for a file at the top. */
export function topFolder(key: string): string {
  const rest = belowIncoming(key);
  const slash = rest.indexOf('/');
  return slash > 0 ? rest.slice(0, slash) : '';
}

/** Everything outside `[A-Za-z0-9_-]` becomes `-`, runs collapse, edges trimmed: safe for names and keys. */
function slug(text: string): string {
  return text
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-_]+|[-_]+$/g, '');
}

function withoutCsvExtension(path: string): string {
  return path.replace(/\.csv$/i, '');
}

/**
 * `<file-slug>-<8 hex>`: readable in the console, deterministic for one write of one object, so a redelivered
 * event asks for the same name. `versionId ?? sequencer` tells two uploads of the same key apart.
 */
export function executionName(
  bucket: string,
  key: string,
  versionId: string | undefined,
  sequencer: string,
): string {
  const hash = sha256Hex(`${bucket}/${key}/${versionId ?? sequencer}`).slice(0, HASH_LENGTH);
  const room = MAX_EXECUTION_NAME - HASH_LENGTH - 1;
  // Truncating can leave a trailing separator: trim again so the name never holds `--`.
  const fileSlug = slug(slug(withoutCsvExtension(belowIncoming(key))).slice(0, room)) || 'file';
  return `${fileSlug}-${hash}`;
}

/** The key below `incoming/` without its `.csv` extension (any case): `teamA/spring-churn`. */
export function audienceNameFromKey(key: string): string {
  return withoutCsvExtension(belowIncoming(key));
}

/** The audience registry's key: the name, lower-cased, so `TeamA/Churn` and `teama/churn` are one audience. */
export function registryKey(audienceName: string): string {
  return audienceName.toLowerCase();
}

/**
 * `staging/audiences/<slug>-<8 hex>/`: one folder per audience, no spaces; the hash keeps two registry keys
 * that slug alike (`a b`, `a-b`) in two folders.
 */
export function stagingPrefix(audienceRegistryKey: string): string {
  const readable =
    slug(slug(audienceRegistryKey.replaceAll('/', '-').toLowerCase()).slice(0, MAX_STAGING_SLUG)) ||
    'audience';
  return `staging/audiences/${readable}-${sha256Hex(audienceRegistryKey).slice(0, HASH_LENGTH)}/`;
}

/** AEP's `sourceSpec.params.path`: the staging folder without its trailing slash, bucket-prefixed or not. */
export function sourcePath(bucket: string, prefix: string, includeBucket: boolean): string {
  const folder = prefix.replace(/\/+$/, '');
  return includeBucket ? `${bucket}/${folder}` : folder;
}

/** `incoming/<path>/<name>.manifest.json` for `incoming/<path>/<name>.csv`. */
export function manifestKeyFor(csvKey: string): string {
  return `${withoutCsvExtension(csvKey)}.manifest.json`;
}

/** `<processed|failed>/<path below incoming>/<execution>/<file name>`: the path kept, one folder per run. */
export function archiveKey(prefix: 'processed' | 'failed', csvKey: string, execution: string): string {
  const rest = belowIncoming(csvKey);
  const slash = rest.lastIndexOf('/');
  const folder = slash >= 0 ? `${rest.slice(0, slash)}/` : '';
  const fileName = slash >= 0 ? rest.slice(slash + 1) : rest;
  return `${prefix}/${folder}${execution}/${fileName}`;
}

/** `reports/<execution>/<file>`. */
export function reportKey(execution: string, file: string): string {
  return `reports/${execution}/${file}`;
}
