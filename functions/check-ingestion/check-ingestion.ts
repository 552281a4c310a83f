// CheckIngestion: poll the ingestion run until AEP reports it done, failed, or the poll budget is spent.
import type { AudienceRun } from '../shared/aep/types.ts';
import { type AepTaskDeps, requirePart } from '../shared/aep-context.ts';
import { AUDIENCE_LOCK_TTL_SECONDS } from '../shared/coordination.ts';
import { PipelineError } from '../shared/pipeline-errors.ts';
import { nextPoll, RUN_POLL_LIMIT } from '../shared/polling.ts';
import { audienceRegistryKey, type IngestionState, type TaskEvent } from '../shared/state.ts';

const TASK = 'CheckIngestion';

function failureMessage(run: AudienceRun, audienceName: string): string {
  const failedStage = run.details.find((stage) => stage.status.toUpperCase() === 'FAILED');
  const where = failedStage ? `at stage ${failedStage.stage}` : 'without naming a failed stage';
  const reason = failedStage?.failureReason ?? run.failureReason ?? 'AEP gave no reason';
  return `AEP ingestion run ${run.runId} of audience "${audienceName}" failed ${where}: ${reason}`;
}

export async function checkIngestion(event: TaskEvent, deps: AepTaskDeps): Promise<IngestionState> {
  const ingestion = requirePart(event.state.ingestion, '$.ingestion', TASK);
  if (ingestion.status === 'SUCCESS') return ingestion;
  const audience = requirePart(event.state.audience, '$.audience', TASK);
  const audienceId = requirePart(audience.audienceId, '$.audience.audienceId', TASK);

  const runId = requirePart(ingestion.runId, '$.ingestion.runId', TASK);
  const plan = requirePart(event.state.validation?.audience, '$.validation.audience', TASK);
  // The lock StartIngestion took: that of the audience's own generation after a rollover.
  const registryKey = audienceRegistryKey(audience, plan);
  const lock = ['audience', registryKey, event.executionName] as const;

  const run = await deps.aep.getRun(audienceId, runId);
  if (run.status === 'SUCCESS' || run.status === 'FAILED') {
    // The run is over: the next file of this audience may start its own.
    await deps.coordination.release(...lock);
  }
  if (run.status === 'SUCCESS') {
    return {
      ...ingestion,
      status: 'SUCCESS',
      details: run.details.map((stage) => ({ stage: stage.stage, status: stage.status })),
    };
  }
  if (run.status === 'FAILED') throw new PipelineError('AEP_RUN_FAILED', failureMessage(run, audience.name));
  // Still running: keep the audience's lock ours while we poll (it expires only if we stop).
  await deps.coordination.renew(...lock, AUDIENCE_LOCK_TTL_SECONDS);
  return {
    ...ingestion,
    poll: nextPoll(ingestion.poll, RUN_POLL_LIMIT, `the ingestion run of audience "${audience.name}"`),
  };
}
