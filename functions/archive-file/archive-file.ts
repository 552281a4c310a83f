// ArchiveFile: the file made it. Moves the original (and its manifest) to processed/ and writes result.json.
import type { S3Client } from '@aws-sdk/client-s3';
import { archiveKey, manifestKeyFor, reportKey } from '../shared/naming.ts';
import { PipelineError } from '../shared/pipeline-errors.ts';
import { moveObject, putJson } from '../shared/s3.ts';
import type { TaskEvent } from '../shared/state.ts';

export interface ArchiveFileDeps {
  s3: S3Client;
  now: () => Date;
}

export const EXPORT_NOTE =
  "AEP exports the audience after its next daily segmentation job, on each destination's own schedule.";

export async function archiveFile(
  event: TaskEvent,
  deps: ArchiveFileDeps,
): Promise<{ archivedKey: string; resultKey: string }> {
  const { state, executionName } = event;
  const { bucket, key, versionId } = state.file;
  const archivedKey = archiveKey('processed', key, executionName);
  const moved = await moveObject(deps.s3, bucket, versionId ? { key, versionId } : { key }, archivedKey);
  if (moved === 'MISSING') {
    throw new PipelineError(
      'CONFIG_INVALID',
      `The original s3://${bucket}/${key} is gone and was not archived`,
    );
  }
  const manifestKey = manifestKeyFor(key);
  await moveObject(
    deps.s3,
    bucket,
    { key: manifestKey },
    archiveKey('processed', manifestKey, executionName),
  );

  const resultKey = reportKey(executionName, 'result.json');
  const v = state.validation;
  await putJson(deps.s3, bucket, resultKey, {
    status: 'SUCCEEDED',
    execution: executionName,
    file: key,
    archivedKey,
    audienceId: state.audience?.audienceId ?? null,
    audienceName: state.audience?.name ?? null,
    refreshed: state.audience?.refreshed ?? false,
    runId: state.ingestion?.runId ?? null,
    destinations: state.activation?.destinations ?? [],
    validation: v
      ? {
          rows: v.rows,
          validRows: v.validRows,
          invalidRows: v.invalidRows,
          invalidByCode: v.invalidByCode,
          identities: v.identities,
        }
      : null,
    reports: { ...v?.reports, result: resultKey },
    note: EXPORT_NOTE,
    finishedAt: deps.now().toISOString(),
  });
  return { archivedKey, resultKey };
}
