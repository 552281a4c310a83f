// StartIngestion: start one AEP ingestion run that selects this execution's staged copy by its LastModified.
// Idempotent per execution: a retry or redrive finds its reservation and run instead of starting another.
import type { AudienceRun } from '../shared/aep/types.ts';
import { type AepTaskDeps, audienceRunLimitError, requirePart } from '../shared/aep-context.ts';
import { firstPoll } from '../shared/polling.ts';
import type { IngestionState, TaskEvent } from '../shared/state.ts';
import type { TaskContext } from '../shared/task-handler.ts';

const TASK = 'StartIngestion';

export async function startIngestion(
  event: TaskEvent,
  deps: AepTaskDeps,
  context?: TaskContext,
): Promise<IngestionState> {
  const validation = requirePart(event.state.validation, '$.validation', TASK);
  const plan = requirePart(validation.audience, '$.validation.audience', TASK);
  const staged = requirePart(validation.staged, '$.validation.staged', TASK);
  const audience = requirePart(event.state.audience, '$.audience', TASK);
  const audienceId = requirePart(audience.audienceId, '$.audience.audienceId', TASK);
  const execution = event.executionName;
  // One second either side of the staged copy's LastModified: this execution's file and no other.
  const window = { dataFilterStartTime: staged.lastModified - 1, dataFilterEndTime: staged.lastModified + 1 };
  const started = (run: Pick<AudienceRun, 'runId' | 'status'>): IngestionState => ({
    status: run.status === 'SUCCESS' ? 'SUCCESS' : 'PROCESSING',
    runId: run.runId,
    ...window,
    poll: firstPoll(),
  });

  const reservation = await deps.registry.reserveRun(
    plan.registryKey,
    execution,
    deps.config.maxRunsPerAudience,
  );
  if (reservation === 'LIMIT_REACHED')
    throw audienceRunLimitError(audience.name, deps.config.maxRunsPerAudience);
  if (reservation === 'ALREADY_RESERVED') {
    const recorded = (await deps.registry.get(plan.registryKey))?.runs[execution]?.runId;
    if (recorded) {
      context?.logger.info('run already started by an earlier attempt', { runId: recorded });
      return started({ runId: recorded, status: 'PROCESSING' });
    }
    // Reserved but not recorded: an earlier attempt may have started the run and died before recording it.
    const adopted = (await deps.aep.listRuns(audienceId)).find(
      (run) =>
        run.dataFilterStartTime === window.dataFilterStartTime &&
        run.dataFilterEndTime === window.dataFilterEndTime,
    );
    if (adopted) {
      await deps.registry.recordRun(plan.registryKey, execution, adopted.runId);
      context?.logger.info('adopted the run an earlier attempt started', { runId: adopted.runId });
      return started(adopted);
    }
  }
  const run = await deps.aep.startRun(audienceId, window);
  await deps.registry.recordRun(plan.registryKey, execution, run.runId);
  return started(run);
}
