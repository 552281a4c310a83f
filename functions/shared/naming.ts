// Names derived from an object key: execution names, audience names, staging folders, report and archive keys,
// and which keys make a folder drop (`incoming/<path>/<name>.parts/` and its completion marker).
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

/** `.csv` or `.csv.gz`, any case: the single files a team drops. */
const CSV_EXTENSION = /\.csv(?:\.gz)?$/i;

function withoutCsvExtension(path: string): string {
  return path.replace(CSV_EXTENSION, '');
}

/** A folder a warehouse export writes into: `<name>.parts`, any case, with a name before the extension. */
const PARTS_FOLDER = /^.+\.parts$/i;

/** True for a folder name (one path segment) of a folder drop: `churn.parts`. */
export function isPartsFolderName(folderName: string): boolean {
  return PARTS_FOLDER.test(folderName);
}

/**
 * The objects that say a folder drop is complete: Spark's (and the Hadoop output committers') `_SUCCESS`, and
 * the `manifest` Redshift's `UNLOAD ... MANIFEST` writes after its parts when the target ends with `/`.
 * Snowflake's `COPY INTO` writes none: its users upload an empty `_SUCCESS` after the export.
 */
export const COMPLETION_MARKERS: readonly string[] = ['_SUCCESS', 'manifest'];

/**
 * The `incoming/…/<name>.parts/` folder that `key` sits directly in (`incoming/x/y.parts/` for
 * `incoming/x/y.parts/part-00000.csv`), or undefined: a key elsewhere, deeper in such a folder, or the folder's
 * own zero-byte key. A folder nested in another `.parts/` folder is still returned; start-pipeline refuses it.
 */
export function partsFolderOf(key: string): string | undefined {
  if (!key.startsWith(INCOMING)) return undefined;
  const slash = key.lastIndexOf('/');
  if (slash === key.length - 1) return undefined;
  const folder = key.slice(0, slash + 1);
  const folderName = folder.slice(0, -1).split('/').at(-1) ?? '';
  return folder.length > INCOMING.length && isPartsFolderName(folderName) ? folder : undefined;
}

/** True for `_SUCCESS` or `manifest` directly in a `<name>.parts/` folder: the key that starts a folder drop. */
export function isCompletionMarker(key: string): boolean {
  const folder = partsFolderOf(key);
  return folder !== undefined && COMPLETION_MARKERS.includes(key.slice(folder.length));
}

/**
 * What a team dropped, as a path without its extension: `incoming/x/y` for `incoming/x/y.csv`,
 * `incoming/x/y.csv.gz` and for every key directly in `incoming/x/y.parts/`.
 */
function dropStem(key: string): string {
  const folder = partsFolderOf(key);
  return folder ? folder.slice(0, -1).replace(/\.parts$/i, '') : withoutCsvExtension(key);
}

/**
 * `<slug>-<8 hex>`, the slug made of the audience name (`teamA-churn` for `incoming/teamA/churn.csv`,
 * `churn.csv.gz` or `churn.parts/_SUCCESS`): readable in the console, deterministic for one write of one
 * object, so a redelivered event asks for the same name. `versionId ?? sequencer` tells two uploads of the same
 * key apart; the key itself is hashed, so a `.csv` and a folder drop of one audience never share a name.
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
  const fileSlug = slug(slug(belowIncoming(dropStem(key))).slice(0, room)) || 'file';
  return `${fileSlug}-${hash}`;
}

/**
 * The key below `incoming/` without `.csv` or `.csv.gz` (any case): `teamA/spring-churn`; for a key directly in
 * a `.parts/` folder (its completion marker), the folder's path without `.parts`: `teamA/spring-churn` for
 * `incoming/teamA/spring-churn.parts/_SUCCESS`.
 */
export function audienceNameFromKey(key: string): string {
  return belowIncoming(dropStem(key));
}

/** A configured team and the AEP sandbox its audiences live in. */
export interface RegistryScope {
  sandbox: string;
  team: string;
}

/**
 * The audience registry's key: the name, lower-cased, so `TeamA/Churn` and `teama/churn` are one audience; for
 * a configured team's file `<sandbox>#<team>#<name>`, so that each team's audiences are its own and the same
 * name in two sandboxes is two audiences. Files outside every team keep the name alone, the key items had
 * before teams existed (a team's first upload of an audience it had then finds that item: legacyRegistryKey).
 */
export function registryKey(audienceName: string, scope?: RegistryScope): string {
  const name = audienceName.toLowerCase();
  return scope ? `${scope.sandbox}#${scope.team}#${name}` : name;
}

/** The key the same name had before teams existed: the name alone, lower-cased. */
export function legacyRegistryKey(audienceName: string): string {
  return registryKey(audienceName);
}

/** The scope of a plan that carries one (a configured team's file). */
export function scopeOf(plan: {
  team?: string | undefined;
  sandbox?: string | undefined;
}): RegistryScope | undefined {
  return plan.team !== undefined && plan.sandbox !== undefined
    ? { sandbox: plan.sandbox, team: plan.team }
    : undefined;
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

/**
 * `incoming/<path>/<name>.manifest.json` for `incoming/<path>/<name>.csv`, `<name>.csv.gz`, and any key
 * directly in `incoming/<path>/<name>.parts/`: the manifest sits beside the file or the folder.
 */
export function manifestKeyFor(key: string): string {
  return `${dropStem(key)}.manifest.json`;
}

/**
 * `<processed|failed>/<path below incoming>/<execution>/<rest>`: the path kept, one folder per run. `rest` is
 * the file name, or for a key in a `.parts/` folder (or the folder itself, `incoming/x/y.parts/`) the folder
 * and what is in it, so a folder drop stays one folder: `processed/x/<execution>/y.parts/part-00000`.
 */
export function archiveKey(prefix: 'processed' | 'failed', key: string, execution: string): string {
  const rest = belowIncoming(key);
  const folder = partsFolderOf(key);
  // What the run keeps whole: the `.parts` folder, or the file; its parent path is kept as it is.
  const kept = (folder ? belowIncoming(folder) : rest).replace(/\/$/, '');
  const slash = kept.lastIndexOf('/');
  const parent = slash >= 0 ? kept.slice(0, slash + 1) : '';
  return `${prefix}/${parent}${execution}/${rest.slice(parent.length)}`;
}

/** `reports/<execution>/<file>`. */
export function reportKey(execution: string, file: string): string {
  return `reports/${execution}/${file}`;
}
