// What `aep-audience run` uploads for each argument: a file under incoming/, or a local folder as a warehouse
// export under incoming/<name>.parts/ with its completion marker last; decided before anything starts.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { COMPLETION_MARKERS } from '../../functions/shared/naming.ts';
import { LocalUsageError } from './usage-error.ts';

export interface PlannedUpload {
  key: string;
  /** The local file; none for the empty `_SUCCESS` the runner writes itself. */
  file?: string;
}

export type DropPlan =
  | { kind: 'file'; source: string; upload: PlannedUpload; manifest?: string }
  | {
      kind: 'folder';
      source: string;
      /** `incoming/<name>.parts/`. */
      folder: string;
      /** The data files (and any other file of the folder), in key order. */
      parts: PlannedUpload[];
      /** The folder's own `_SUCCESS` or `manifest`, or an empty `_SUCCESS`: uploaded last, it starts the run. */
      marker: PlannedUpload;
      manifest?: string;
    };

/** The name a local folder drops under: `churn` for `exports/churn.parts/` and for `exports/churn/`. */
export function folderDropName(dir: string): string {
  return path.basename(path.resolve(dir)).replace(/\.parts$/i, '');
}

/**
 * The audience manifest a local file or folder takes when `--manifest` is not given: `<name>.manifest.json`
 * beside `<name>.csv`, `<name>.csv.gz`, `<name>.parts/` or the folder `<name>/`.
 */
export function siblingManifestPath(source: string, isFolder: boolean): string | undefined {
  if (isFolder) {
    const resolved = path.resolve(source);
    return path.join(path.dirname(resolved), `${folderDropName(resolved)}.manifest.json`);
  }
  const sibling = source.replace(/\.csv(\.gz)?$/i, '.manifest.json');
  return sibling === source ? undefined : sibling;
}

function byName(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * A local folder as a folder drop: every file directly in it under `incoming/<name>.parts/` (as
 * `aws s3 cp --recursive` would upload them; the pipeline itself leaves hidden files and markers out of the
 * data), then its marker. A folder holding subfolders, both markers, or nothing is refused.
 */
function planFolder(dir: string, incoming: string): Omit<Extract<DropPlan, { kind: 'folder' }>, 'manifest'> {
  const name = folderDropName(dir);
  if (!name)
    throw new LocalUsageError(`${dir}: a folder drop needs a name (the folder's name without .parts)`);
  const folder = `${incoming}${name}.parts/`;
  const entries = readdirSync(dir, { withFileTypes: true });
  const subfolders = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  if (subfolders.length > 0) {
    throw new LocalUsageError(
      `${dir} holds folders (${subfolders.join(', ')}): a folder drop is the files directly in one folder`,
    );
  }
  const files = entries
    .filter((entry) => entry.isFile())
    .map((entry) => entry.name)
    .sort(byName);
  const markers = files.filter((file) => COMPLETION_MARKERS.includes(file));
  if (markers.length > 1) {
    throw new LocalUsageError(
      `${dir} holds both ${markers.join(' and ')}: each marker starts a run, so a folder drop has one`,
    );
  }
  const parts = files.filter((file) => !COMPLETION_MARKERS.includes(file));
  if (parts.length === 0) throw new LocalUsageError(`${dir} holds no files to drop`);
  const [own] = markers;
  return {
    kind: 'folder',
    source: dir,
    folder,
    parts: parts.map((file) => ({ key: `${folder}${file}`, file: path.join(dir, file) })),
    marker: own ? { key: `${folder}${own}`, file: path.join(dir, own) } : { key: `${folder}_SUCCESS` },
  };
}

/**
 * The upload of one `run` argument, with its audience manifest (`--manifest`, else the sibling, if any): under
 * `incoming/`, or under `incoming/<team>/` with `--team`.
 */
export function planDrop(source: string, manifest?: string, team?: string): DropPlan {
  if (team !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(team)) {
    throw new LocalUsageError(
      `--team is a team name, the first folder under incoming/: letters, digits, _ . or - (got "${team}")`,
    );
  }
  const incoming = team === undefined ? 'incoming/' : `incoming/${team}/`;
  let isFolder: boolean;
  try {
    isFolder = statSync(source).isDirectory();
  } catch {
    throw new LocalUsageError(`file not found: ${source}`);
  }
  const sibling = manifest ?? siblingManifestPath(source, isFolder);
  let found: string | undefined;
  try {
    if (sibling && statSync(sibling).isFile()) found = sibling;
  } catch {
    // No sibling manifest: most drops come without one.
  }
  if (manifest && !found) throw new LocalUsageError(`manifest not found: ${manifest}`);
  const withManifest = found ? { manifest: found } : {};
  if (isFolder) return { ...planFolder(source, incoming), ...withManifest };
  return {
    kind: 'file',
    source,
    upload: { key: `${incoming}${path.basename(source)}`, file: source },
    ...withManifest,
  };
}

/**
 * A Redshift manifest copied from another bucket names its parts there (`s3://prod/unload/x/0000_part_00`):
 * dropped locally, each URL is pointed at the part of the same name in the local folder, which the runner has
 * just uploaded. Anything that is not such a manifest is uploaded as it is, for the pipeline to judge.
 */
export function localRedshiftManifest(text: string, bucket: string, folder: string): string {
  let manifest: { entries?: unknown };
  try {
    manifest = JSON.parse(text) as { entries?: unknown };
  } catch {
    return text;
  }
  if (!Array.isArray(manifest?.entries)) return text;
  const entries = manifest.entries.map((entry: unknown) => {
    const url = (entry as { url?: unknown } | null)?.url;
    if (typeof url !== 'string' || !url.startsWith('s3://')) return entry;
    const name = url.slice(url.lastIndexOf('/') + 1);
    return { ...(entry as object), url: `s3://${bucket}/${folder}${name}` };
  });
  return JSON.stringify({ ...manifest, entries });
}
