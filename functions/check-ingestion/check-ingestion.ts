// CheckIngestion: poll the ingestion run until AEP reports it done, failed, or the poll budget is spent.
import type { AudienceRun } from '../shared/aep/types.ts';
import { type AepTaskDeps, requirePart } from '../shared/aep-context.ts';
import { PipelineError } from '../shared/pipeline-errors.ts';
import { nextPoll, RUN_POLL_LIMIT } from '../shared/polling.ts';
import type { IngestionState, TaskEvent } from '../shared/state.ts';

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

  const run = await deps.aep.getRun(audienceId, ingestion.runId);
  if (run.status === 'SUCCESS') {
    return {
      ...ingestion,
      status: 'SUCCESS',
      details: run.details.map((stage) => ({ stage: stage.stage, status: stage.status })),
    };
  }
  if (run.status === 'FAILED') throw new PipelineError('AEP_RUN_FAILED', failureMessage(run, audience.name));
  return {
    ...ingestion,
    poll: nextPoll(ingestion.poll, RUN_POLL_LIMIT, `the ingestion run of audience "${audience.name}"`),
  };
}
