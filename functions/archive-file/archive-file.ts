// ArchiveFile: the file made it. Moves the original (and its manifest) to processed/ and writes result.json; a
// folder drop's original is its whole `.parts/` folder, kept as one folder (functions/shared/originals.ts).
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '../shared/log.ts';
import { archiveKey, manifestKeyFor, reportKey } from '../shared/naming.ts';
import { keepOriginal } from '../shared/originals.ts';
import { deleteObject, moveObject, putJson } from '../shared/s3.ts';
import { type PipelineState, replacedOf, type TaskEvent } from '../shared/state.ts';

export interface ArchiveFileDeps {
  s3: S3Client;
  logger: Logger;
  now: () => Date;
}

export interface ArchiveResult {
  archivedKey: string;
  resultKey: string;
}

/** SUCCEEDED means ingested and held by the dataflows, not yet exported: the result says so. */
export const EXPORT_NOTE = "exports follow AEP's daily segmentation job and each destination's schedule";

/** A file ingested into a generation that a rollover superseded meanwhile: its rows reach no destination. */
export const SUPERSEDED_NOTE =
  "a later generation of this audience replaced it in its dataflows while this file was being ingested, so this file's rows reach no destination; upload the file again to have them in the current generation";

/** What SUCCEEDED means for this file, for result.json and the notification. */
export function successNote(state: Partial<PipelineState>): string {
  const superseded = state.activation?.destinations.some((d) => d.status === 'SUPERSEDED');
  return superseded ? SUPERSEDED_NOTE : EXPORT_NOTE;
}

/** The counts a person reads first; the full detail stays in validation.json. */
export function validationSummary(validation: PipelineState['validation']) {
  if (!validation) return null;
  return {
    valid: validation.valid,
    rows: validation.rows,
    validRows: validation.validRows,
    invalidRows: validation.invalidRows,
    invalidByCode: validation.invalidByCode,
    identities: validation.identities,
  };
}

export async function archiveFile(event: TaskEvent, deps: ArchiveFileDeps): Promise<ArchiveResult> {
  const { state, executionName } = event;
  const { bucket, key, versionId } = state.file;
  const kept = await keepOriginal(deps.s3, bucket, { key, versionId }, 'processed', executionName);
  const { key: archivedKey, outcome: moved } = kept;
  if (moved === 'MISSING') {
    // The audience is already in AEP: failing now would tell the team the opposite of what happened.
    deps.logger.warn('the original was neither in incoming/ nor in processed/', { key, archivedKey });
  }
  const manifestKey = state.validation?.manifestKey ?? manifestKeyFor(key);
  await moveObject(
    deps.s3,
    bucket,
    { key: manifestKey },
    archiveKey('processed', manifestKey, executionName),
  );

  const resultKey = reportKey(executionName, 'result.json');
  const validation = state.validation;
  await putJson(deps.s3, bucket, resultKey, {
    status: 'SUCCEEDED',
    execution: executionName,
    file: { bucket, key, ...(versionId ? { versionId } : {}), size: state.file.size },
    archivedKey,
    audienceId: state.audience?.audienceId ?? null,
    audienceName: state.audience?.name ?? validation?.audience?.name ?? null,
    refreshed: state.audience?.refreshed ?? false,
    replaced: replacedOf(state.audience?.replaces),
    runId: state.ingestion?.runId ?? null,
    destinations: state.activation?.destinations ?? [],
    validation: validationSummary(validation),
    reports: { ...validation?.reports, result: resultKey },
    note: successNote(state),
    finishedAt: deps.now().toISOString(),
  });
  // A redriven execution: its failed attempt left error.json (record-execution-failure); the file made it after
  // all, and one report per outcome is what readers expect. The bucket keeps the old one as a noncurrent version.
  await deleteObject(deps.s3, bucket, reportKey(executionName, 'error.json'));
  deps.logger.info('archived', {
    archivedKey,
    resultKey,
    moved,
    ...(kept.folder ? { folder: kept.folder } : {}),
  });
  return { archivedKey, resultKey };
}
