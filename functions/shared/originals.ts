// Keeps a run's original when the run ends: one file, or every object of a `.parts/` folder drop, moved out of
// incoming/ to processed/ or failed/ the way moveObject moves one file (copy first, delete once copied).
import type { S3Client } from '@aws-sdk/client-s3';
import { archiveKey, partsFolderOf } from './naming.ts';
import {
  copyObject,
  deleteObject,
  headObject,
  listedObject,
  listPrefix,
  type MoveOutcome,
  moveObject,
} from './s3.ts';

export interface KeptOriginal {
  /** Where the original is kept: the file's archive key, or the archived folder (`…/<execution>/<name>.parts/`). */
  key: string;
  /** The file's move, or for a folder drop its completion marker's (moved last, see keepOriginal). */
  outcome: MoveOutcome;
  /** A folder drop: its other objects copied this time, and whether they were left in incoming/ too. */
  folder?: { copied: number; leftInIncoming: boolean };
}

/**
 * Parts copied at once. Each is a CopyObject and a DeleteObject (or a few UploadPartCopy calls above 5 GB); a
 * warehouse writes tens to thousands of parts, and one after the other they would take minutes.
 */
const PART_MOVES_AT_ONCE = 8;

/** `work` over every item, at most `limit` at a time; the first failure is thrown once all have settled. */
async function forEachAtMost<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const failures: unknown[] = [];
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item).catch((error: unknown) => {
        failures.push(error);
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failures.length > 0) throw failures[0];
}

/**
 * Moves the original of a run (`file`, the execution's `$.file`) under `<prefix>/…/<execution>/`.
 *
 * A file is moved by moveObject. A folder drop (`file` is its completion marker) is kept as one folder: every
 * object under `incoming/…/<name>.parts/` (parts, hidden files, subfolders) is copied into
 * `<prefix>/…/<execution>/<name>.parts/` and deleted once copied, the marker last, so a task that stops half
 * way still finds its marker and moves the rest when retried. Whether the parts are this run's is judged
 * by the marker:
 * - the marker version that started the run is current (or the bucket keeps no versions): they are moved;
 * - a newer marker took its place (the folder was exported into again): they are copied and left in place
 *   for the run that marker started, as moveObject leaves a newer upload of a file;
 * - no marker is left: a previous attempt moved the folder (its marker went last); objects there now belong
 *   to a later export, and are not touched.
 */
export async function keepOriginal(
  s3: S3Client,
  bucket: string,
  file: { key: string; versionId?: string | undefined },
  prefix: 'processed' | 'failed',
  execution: string,
): Promise<KeptOriginal> {
  const source = file.versionId ? { key: file.key, versionId: file.versionId } : { key: file.key };
  const folder = partsFolderOf(file.key);
  if (!folder) {
    const key = archiveKey(prefix, file.key, execution);
    return { key, outcome: await moveObject(s3, bucket, source, key) };
  }

  const targetFolder = archiveKey(prefix, folder, execution);
  let copied = 0;
  let leftInIncoming = false;
  if (await listedObject(s3, bucket, file.key)) {
    const current = file.versionId ? (await headObject(s3, bucket, file.key))?.VersionId : undefined;
    leftInIncoming = current !== file.versionId;
    const others = (await listPrefix(s3, bucket, folder)).filter((object) => object.key !== file.key);
    await forEachAtMost(others, PART_MOVES_AT_ONCE, async (object) => {
      await copyObject(s3, bucket, object, `${targetFolder}${object.key.slice(folder.length)}`);
      if (!leftInIncoming) await deleteObject(s3, bucket, object.key);
    });
    copied = others.length;
  }
  const outcome = await moveObject(s3, bucket, source, archiveKey(prefix, file.key, execution));
  return { key: targetFolder, outcome, folder: { copied, leftInIncoming } };
}
