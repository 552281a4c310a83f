// CheckIngestion: poll the ingestion run until AEP reports it done, failed, or the poll budget is spent.
import type { AudienceRun, FlowRunError } from '../shared/aep/types.ts';
import { type AepTaskDeps, requirePart } from '../shared/aep-context.ts';
import { AUDIENCE_LOCK_TTL_SECONDS } from '../shared/coordination.ts';
import { maskFreeText } from '../shared/mask.ts';
import { PipelineError } from '../shared/pipeline-errors.ts';
import { nextPoll, RUN_POLL_LIMIT } from '../shared/polling.ts';
import { audienceRegistryKey, type IngestionState, type TaskEvent } from '../shared/state.ts';

const TASK = 'CheckIngestion';
/** Enough to act on; a run with more errors is read in AEP (the message says how many were left out). */
const MAX_FLOW_RUN_ERRORS = 10;
const MAX_ERROR_CHARS = 300;

function clip(text: string): string {
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS - 1)}…` : text;
}

/**
 * Why the stage's Flow Service run failed, from `GET /data/foundation/flowservice/runs/{flowRunId}`
 * (`metrics.statusSummary.errors[]`, see functions/shared/aep/schemas.ts for the docs it follows). A run that
 * cannot be read (404, outage, an answer of another shape) hides nothing: the stage's own fields are already
 * in the message, and this says the details could not be read. Every text from AEP is masked: a reason may
 * quote a value of the file.
 */
async function flowRunReasons(aep: AepTaskDeps['aep'], flowRunId: string): Promise<string> {
  let errors: FlowRunError[];
  try {
    ({ errors } = await aep.getFlowRun(flowRunId));
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return `The details of flow run ${flowRunId} could not be read (${clip(maskFreeText(why))}).`;
  }
  if (errors.length === 0) return `Flow run ${flowRunId} lists no errors.`;
  const shown = errors
    .slice(0, MAX_FLOW_RUN_ERRORS)
    .map((e) => clip(`${e.code ? `${e.code}: ` : ''}${maskFreeText(e.message)}`));
  const more = errors.length - shown.length;
  return `Flow run ${flowRunId}: ${shown.join('; ')}${more > 0 ? `; and ${more} more` : ''}.`;
}

async function failureMessage(run: AudienceRun, audienceName: string, deps: AepTaskDeps): Promise<string> {
  const failedStage = run.details.find((stage) => stage.status.toUpperCase() === 'FAILED');
  const where = failedStage ? `at stage ${failedStage.stage}` : 'without naming a failed stage';
  const reason = maskFreeText(failedStage?.failureReason ?? run.failureReason ?? 'AEP gave no reason');
  const message = `AEP ingestion run ${run.runId} of audience "${audienceName}" failed ${where}: ${reason}`;
  if (!failedStage?.flowRunId) return message;
  return `${message.replace(/[.\s]+$/, '')}. ${await flowRunReasons(deps.aep, failedStage.flowRunId)}`;
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
    // The audience lives for its TTL from now (docs/operations.md#audience-upkeep): KeepAlive and the
    // `audiences` listing read it here.
    await deps.registry.recordSuccessfulRun(registryKey, {
      execution: event.executionName,
      stagedKey: requirePart(event.state.validation?.staged, '$.validation.staged', TASK).key,
      ttlInDays: plan.ttlInDays,
      keepAlive: plan.keepAlive,
    });
    return {
      ...ingestion,
      status: 'SUCCESS',
      details: run.details.map((stage) => ({ stage: stage.stage, status: stage.status })),
    };
  }
  if (run.status === 'FAILED') {
    throw new PipelineError('AEP_RUN_FAILED', await failureMessage(run, audience.name, deps));
  }
  // Still running: keep the audience's lock ours while we poll (it expires only if we stop).
  await deps.coordination.renew(...lock, AUDIENCE_LOCK_TTL_SECONDS);
  return {
    ...ingestion,
    poll: nextPoll(ingestion.poll, RUN_POLL_LIMIT, `the ingestion run of audience "${audience.name}"`),
  };
}
