// HandleFailure: a wrong file or request. Moves the original (and its manifest) to failed/, writes
// reports/<execution>/error.json in words a person can act on, and hands the Fail state its code and cause.
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '../shared/log.ts';
import { archiveKey, manifestKeyFor, reportKey } from '../shared/naming.ts';
import { keepOriginal } from '../shared/originals.ts';
import { causeMessage } from '../shared/pipeline-errors.ts';
import { moveObject, putJson } from '../shared/s3.ts';
import type { FailureState, PipelineState, TaskEvent } from '../shared/state.ts';

export interface HandleFailureDeps {
  s3: S3Client;
  logger: Logger;
  now: () => Date;
}

/** The last state that ran, judged from which parts of the state document exist: where the file stopped. */
export function stageReached(state: PipelineState): string {
  if (state.result) return 'ArchiveFile';
  if (state.activation) return 'ArchiveFile';
  if (state.ingestion)
    return state.ingestion.status === 'SUCCESS' ? 'ActivateDestinations' : 'CheckIngestion';
  if (state.audience) return state.audience.status === 'READY' ? 'StartIngestion' : 'CheckAudience';
  if (state.validation?.valid) return 'CreateAudience';
  return 'ValidateFile';
}

export async function handleFailure(event: TaskEvent, deps: HandleFailureDeps): Promise<FailureState> {
  const { state, executionName } = event;
  const { bucket, key, versionId } = state.file;
  const code = state.error?.Error || 'UNKNOWN';
  const message = causeMessage(state.error?.Cause) || 'The pipeline failed without a message.';

  // Never lose the original: a failed copy throws before any delete, and the original stays in incoming/. A
  // folder drop's original is its whole `.parts/` folder, kept as one folder (functions/shared/originals.ts).
  const kept = await keepOriginal(deps.s3, bucket, { key, versionId }, 'failed', executionName);
  const { key: failedKey, outcome: moved } = kept;
  if (moved === 'MISSING') {
    deps.logger.warn('the original was neither in incoming/ nor in failed/', { key, failedKey });
  }
  const manifestKey = state.validation?.manifestKey ?? manifestKeyFor(key);
  await moveObject(deps.s3, bucket, { key: manifestKey }, archiveKey('failed', manifestKey, executionName));

  const errorReportKey = reportKey(executionName, 'error.json');
  const reports: Record<string, string> = { error: errorReportKey };
  if (state.validation?.reports.validation) reports.validation = state.validation.reports.validation;
  if (state.validation?.reports.rejects) reports.rejects = state.validation.reports.rejects;
  await putJson(deps.s3, bucket, errorReportKey, {
    status: 'FAILED',
    execution: executionName,
    file: { bucket, key, ...(versionId ? { versionId } : {}), size: state.file.size },
    code,
    message,
    stage: stageReached(state),
    failedKey: moved === 'MISSING' ? null : failedKey,
    reports,
    fix: kept.folder
      ? 'Fix the export (or its manifest) and write the folder again under incoming/, its completion marker last.'
      : 'Fix the file (or its manifest) and upload it again under incoming/.',
    failedAt: deps.now().toISOString(),
  });
  deps.logger.info('file moved to failed/', { code, failedKey, errorReportKey });
  return { code, message, ...(moved === 'MISSING' ? {} : { failedKey }), errorReportKey };
}
