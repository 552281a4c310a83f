// Names derived from an object key: execution names, audience names, staging folders, report and archive keys.
import { createHash } from 'node:crypto';

const INCOMING = 'incoming/';
const MAX_EXECUTION_NAME = 80;

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The key below `incoming/`, e.g. `teamA/spring-churn.csv`. */
function belowIncoming(key: string): string {
  return key.startsWith(INCOMING) ? key.slice(INCOMING.length) : key;
}

function slug(text: string): string {
  return text
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
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
  const hash = sha256Hex(`${bucket}/${key}/${versionId ?? sequencer}`).slice(0, 8);
  const fileSlug = slug(belowIncoming(key).replace(/\.csv$/i, '')) || 'file';
  return `${fileSlug.slice(0, MAX_EXECUTION_NAME - hash.length - 1).replace(/-$/, '')}-${hash}`;
}

/** The key below `incoming/` without its `.csv` extension: `teamA/spring-churn`. */
export function audienceNameFromKey(key: string): string {
  return belowIncoming(key).replace(/\.csv$/i, '');
}

export function registryKey(audienceName: string): string {
  return audienceName.toLowerCase();
}

/** `staging/audiences/<slug>-<8 hex>/`: one folder per audience, no spaces, distinct for distinct keys. */
export function stagingPrefix(key: string): string {
  const readable = slug(key.replaceAll('/', '-')).toLowerCase().slice(0, 60) || 'audience';
  return `staging/audiences/${readable}-${sha256Hex(key).slice(0, 8)}/`;
}

/** AEP's `sourceSpec.params.path`: the staging folder without its trailing slash, bucket-prefixed or not. */
export function sourcePath(bucket: string, prefix: string, includeBucket: boolean): string {
  const folder = prefix.replace(/\/+$/, '');
  return includeBucket ? `${bucket}/${folder}` : folder;
}

/** `incoming/<path>/<name>.manifest.json` for `incoming/<path>/<name>.csv`. */
export function manifestKeyFor(csvKey: string): string {
  return `${csvKey.replace(/\.csv$/i, '')}.manifest.json`;
}

/** `<processed|failed>/<path below incoming>/<execution>/<file name>`. */
export function archiveKey(prefix: 'processed' | 'failed', csvKey: string, execution: string): string {
  const rest = belowIncoming(csvKey);
  const slash = rest.lastIndexOf('/');
  const folder = slash >= 0 ? `${rest.slice(0, slash)}/` : '';
  const fileName = slash >= 0 ? rest.slice(slash + 1) : rest;
  return `${prefix}/${folder}${execution}/${fileName}`;
}

export function reportKey(execution: string, file: string): string {
  return `reports/${execution}/${file}`;
}
