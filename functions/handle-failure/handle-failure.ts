// HandleFailure: a wrong file or request. Moves the original (and its manifest) to failed/, writes
// reports/<execution>/error.json in words an operator understands, and hands the Fail state its code and cause.
import type { S3Client } from '@aws-sdk/client-s3';
import { archiveKey, manifestKeyFor, reportKey } from '../shared/naming.ts';
import { causeMessage } from '../shared/pipeline-errors.ts';
import { moveObject, putJson } from '../shared/s3.ts';
import type { FailureState, PipelineState, TaskEvent } from '../shared/state.ts';

export interface HandleFailureDeps {
  s3: S3Client;
  now: () => Date;
}

/** The last stage that produced a result, for the report: where in the story the file stopped. */
export function stageReached(state: PipelineState): string {
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
  const code = state.error?.Error ?? 'UNKNOWN';
  const message = causeMessage(state.error?.Cause) || 'the pipeline failed without a message';

  const failedKey = archiveKey('failed', key, executionName);
  // Never lose the original: a failed copy throws, and the original stays in incoming/.
  await moveObject(deps.s3, bucket, versionId ? { key, versionId } : { key }, failedKey);
  const manifestKey = manifestKeyFor(key);
  await moveObject(deps.s3, bucket, { key: manifestKey }, archiveKey('failed', manifestKey, executionName));

  const errorReportKey = reportKey(executionName, 'error.json');
  const reports: Record<string, string> = {};
  if (state.validation?.reports.validation) reports.validation = state.validation.reports.validation;
  if (state.validation?.reports.rejects) reports.rejects = state.validation.reports.rejects;
  await putJson(deps.s3, bucket, errorReportKey, {
    status: 'FAILED',
    execution: executionName,
    file: key,
    code,
    message,
    stage: stageReached(state),
    failedKey,
    reports,
    fix: 'Fix the file (or its manifest) and upload it again under incoming/.',
    failedAt: deps.now().toISOString(),
  });
  return { code, message, failedKey, errorReportKey };
}
