// StartIngestion: start one AEP ingestion run that selects this execution's staged copy by its LastModified.
// Idempotent per execution: a retry or redrive finds its reservation and run instead of starting another.
// Guardrails first (docs/architecture.md#registry-and-locks): the audience's lock (one run at a
// time), its run count (10 per audience) and the day's run budget (100 per sandbox). A busy lock or a spent
// budget returns WAITING, and the state machine waits in WaitForRunSlot before asking again.
import { AepError, AepRunInProgressError } from '../shared/aep/errors.ts';
import type { AudienceRun } from '../shared/aep/types.ts';
import { type AepTaskDeps, audienceRunLimitError, requirePart } from '../shared/aep-context.ts';
import { AUDIENCE_LOCK_TTL_SECONDS, secondsToNextUtcDay } from '../shared/coordination.ts';
import { PipelineError } from '../shared/pipeline-errors.ts';
import { FIRST_WAIT_SECONDS, firstPoll, MAX_WAIT_SECONDS } from '../shared/polling.ts';
import { audienceRegistryKey, type IngestionState, type TaskEvent } from '../shared/state.ts';
import type { TaskContext } from '../shared/task-handler.ts';

const TASK = 'StartIngestion';
/** AEP's day may roll over a little after ours: start a minute into the new UTC day. */
const NEW_DAY_MARGIN_SECONDS = 60;

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
  const registryKey = audienceRegistryKey(audience, plan);
  const { coordination, config } = deps;
  // One second either side of the staged copy's LastModified: this execution's file and no other.
  const window = { dataFilterStartTime: staged.lastModified - 1, dataFilterEndTime: staged.lastModified + 1 };
  const started = (run: Pick<AudienceRun, 'runId' | 'status'>): IngestionState => ({
    status: run.status === 'SUCCESS' ? 'SUCCESS' : 'PROCESSING',
    runId: run.runId,
    ...window,
    poll: firstPoll(),
  });
  const previous = event.state.ingestion;
  const waiting = (waitingFor: string, waitSeconds?: number): IngestionState => {
    // Lock waits grow like polls (15 s doubling to 5 min); the budget wait is until the next UTC day.
    const attempt = previous?.status === 'WAITING' ? previous.poll.attempt + 1 : 0;
    const grown = Math.min(FIRST_WAIT_SECONDS * 2 ** Math.min(attempt, 10), MAX_WAIT_SECONDS);
    context?.logger.info('waiting for a run slot', { waitingFor });
    return {
      status: 'WAITING',
      waitingFor,
      ...window,
      poll: { attempt, waitSeconds: waitSeconds ?? grown },
    };
  };
  const releaseLock = () => coordination.release('audience', registryKey, execution);

  const lock = await coordination.acquire('audience', registryKey, execution, AUDIENCE_LOCK_TTL_SECONDS);
  if (!lock.acquired) {
    return waiting(`the run of another file (execution ${lock.holder}) on audience "${audience.name}"`);
  }

  // CreateAudience reserved this execution's run; reserving again finds it (ALREADY_RESERVED). A state written
  // before reservations moved there reserves here.
  const reservation = await deps.registry.reserveRun(registryKey, execution, config.maxRunsPerAudience);
  const runs = (await deps.registry.get(registryKey))?.runs ?? {};
  // The runs other files of this audience hold: never adopted as this file's, whatever their window.
  const claimedRunIds = Object.entries(runs)
    .filter(([other, run]) => other !== execution && run.runId)
    .map(([, run]) => run.runId as string);
  if (reservation === 'LIMIT_REACHED') {
    await releaseLock();
    throw audienceRunLimitError(audience.name, config.maxRunsPerAudience);
  }
  if (reservation === 'ALREADY_RESERVED') {
    const held = runs[execution];
    if (held?.runId) {
      context?.logger.info('run already started by an earlier attempt', { runId: held.runId });
      return started({ runId: held.runId, status: 'PROCESSING' });
    }
    if (held?.startingAt) {
      // An earlier attempt asked AEP for the run and died before recording it: look before starting another.
      const adopted = (await deps.aep.listRuns(audienceId)).find(
        (run) =>
          run.dataFilterStartTime === window.dataFilterStartTime &&
          run.dataFilterEndTime === window.dataFilterEndTime &&
          !claimedRunIds.includes(run.runId),
      );
      if (adopted) {
        await deps.registry.recordRun(registryKey, execution, adopted.runId);
        context?.logger.info('adopted the run an earlier attempt started', { runId: adopted.runId });
        return started(adopted);
      }
    }
  }

  const budget = await coordination.takeRun(config.sandboxName, execution, config.dailyRunBudget);
  if (budget === 'SPENT') {
    await releaseLock();
    if (config.onDailyRunLimit === 'fail') {
      // This file ends here without a run: its reservation goes back to the audience's 10.
      await deps.registry.releaseRun(registryKey, execution);
      throw new PipelineError(
        'AEP_DAILY_RUN_LIMIT',
        `The daily budget of ${config.dailyRunBudget} ingestion runs in sandbox "${config.sandboxName}" is spent; ` +
          'upload the file again after 00:00 UTC (or set onDailyRunLimit to "wait")',
      );
    }
    return waiting(
      `the next UTC day: today's budget of ${config.dailyRunBudget} ingestion runs is spent`,
      secondsToNextUtcDay(deps.now()) + NEW_DAY_MARGIN_SECONDS,
    );
  }

  await deps.registry.markRunStarting(registryKey, execution);
  let run: AudienceRun;
  try {
    run = await deps.aep.startRun(audienceId, { ...window, claimedRunIds });
  } catch (error) {
    // A run started outside this pipeline: wait for it like for one of ours.
    if (error instanceof AepRunInProgressError) return waiting(`a run of audience "${audience.name}" in AEP`);
    // A refused request started nothing: the audience and the reserved run are free for the next file.
    if (error instanceof AepError && !error.retryable) {
      await releaseLock();
      await deps.registry.releaseRun(registryKey, execution);
    }
    throw error;
  }
  await deps.registry.recordRun(registryKey, execution, run.runId);
  return started(run);
}
