// ActivateDestinations: add the audience to each destination dataflow, in order. Re-running is safe: a
// dataflow that already selects the audience answers ALREADY_PRESENT.
//
// A later generation of a rolled-over audience (`<name> #2`) takes the place of the generation it replaces, in
// one PATCH per dataflow: in the file's destinations and in every dataflow the pipeline had added the old one to
// (the registry's `flows`), keeping the old selector's export settings there. A generation that has itself been
// superseded is added nowhere.
import { AepNotFoundError, AepRequestError } from '../shared/aep/errors.ts';
import type { AddToDataflowInput, AddToDataflowOutcome, BatchExportSettings } from '../shared/aep/types.ts';
import { type AepTaskDeps, requirePart } from '../shared/aep-context.ts';
import { DATAFLOW_LOCK_TTL_SECONDS } from '../shared/coordination.ts';
import { PipelineError } from '../shared/pipeline-errors.ts';
import type { DestinationKind } from '../shared/registry.ts';
import { type ActivationState, audienceRegistryKey, type TaskEvent } from '../shared/state.ts';
import type { TaskContext } from '../shared/task-handler.ts';

const TASK = 'ActivateDestinations';
/** How long an edit waits for another execution's edit of the same dataflow before the state machine retries. */
const DATAFLOW_LOCK_WAIT_MS = 30_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One dataflow edit under the dataflow's lock (coordination.ts), so that this pipeline's executions edit a
 * dataflow one at a time. Busy past DATAFLOW_LOCK_WAIT_MS: AEP_BUSY, which the state machine retries.
 */
async function editDataflow(
  input: AddToDataflowInput,
  execution: string,
  deps: AepTaskDeps,
  context?: TaskContext,
): Promise<AddToDataflowOutcome> {
  const { coordination } = deps;
  const giveUpAt = deps.now() + DATAFLOW_LOCK_WAIT_MS;
  for (let attempt = 0; ; attempt++) {
    const lock = await coordination.acquire('dataflow', input.flowId, execution, DATAFLOW_LOCK_TTL_SECONDS);
    if (lock.acquired) break;
    if (deps.now() >= giveUpAt) {
      throw new PipelineError(
        'AEP_BUSY',
        `Dataflow ${input.flowId} is being edited by another file (execution ${lock.holder}); retrying`,
      );
    }
    if (attempt === 0)
      context?.logger.info('waiting for another edit of the dataflow', { flowId: input.flowId });
    // Edits take about a second: poll briskly, with jitter so that waiters do not move in step.
    await sleep(
      Math.min(250 * 2 ** Math.min(attempt, 3), lock.expiresAt - deps.now()) * (0.5 + Math.random() / 2),
    );
  }
  try {
    return await deps.aep.addAudienceToDataflow(input);
  } finally {
    await coordination.release('dataflow', input.flowId, execution);
  }
}

interface Target {
  flowId: string;
  kind: DestinationKind;
  batch?: BatchExportSettings;
  /** Only the replaced generation was added here: carry it over, do not add where it is gone. */
  carriedOver: boolean;
}

export async function activateDestinations(
  event: TaskEvent,
  deps: AepTaskDeps,
  context?: TaskContext,
): Promise<ActivationState> {
  const validation = requirePart(event.state.validation, '$.validation', TASK);
  const plan = requirePart(validation.audience, '$.validation.audience', TASK);
  const audience = requirePart(event.state.audience, '$.audience', TASK);
  const audienceId = requirePart(audience.audienceId, '$.audience.audienceId', TASK);
  const registryKey = audienceRegistryKey(audience, plan);
  const { replaces } = audience;

  const targets: Target[] = validation.destinations.map((d) => ({
    flowId: d.flowId,
    kind: d.kind,
    ...(d.batch === undefined ? {} : { batch: d.batch }),
    carriedOver: false,
  }));
  const item = await deps.registry.get(registryKey);
  if (item?.rolledOverTo) {
    context?.logger.info('a later generation of this audience exists; not adding this one anywhere', {
      next: item.rolledOverTo,
    });
    return { destinations: targets.map((t) => ({ flowId: t.flowId, kind: t.kind, status: 'SUPERSEDED' })) };
  }
  // Every earlier generation's dataflows: one superseded before its own activation never recorded any, so the
  // nearest generation's record alone may miss the flows an older one is still in.
  for (const earlier of replaces ?? []) {
    const previous = await deps.registry.get(earlier.registryKey);
    for (const [flowId, kind] of Object.entries(previous?.flows ?? {})) {
      if (!targets.some((t) => t.flowId === flowId)) targets.push({ flowId, kind, carriedOver: true });
    }
  }

  const destinations: ActivationState['destinations'] = [];
  // Sequential on purpose: each outcome is reported in order, and a failure stops at that flow.
  for (const target of targets) {
    let status: ActivationState['destinations'][number]['status'];
    try {
      status = await editDataflow(
        {
          flowId: target.flowId,
          audienceId,
          audienceName: audience.name,
          ...(target.batch === undefined ? {} : { batch: target.batch }),
          ...(replaces?.length ? { replacesAudienceIds: replaces.map((r) => r.audienceId) } : {}),
          ...(target.carriedOver ? { onlyWhereReplaced: true } : {}),
        },
        event.executionName,
        deps,
        context,
      );
    } catch (error) {
      if (error instanceof AepNotFoundError && target.carriedOver) {
        // A dataflow deleted since the old generation was added to it: nothing to carry over.
        context?.logger.warn('a dataflow of the replaced audience no longer exists', {
          flowId: target.flowId,
        });
        destinations.push({ flowId: target.flowId, kind: target.kind, status: 'NOT_PRESENT' });
        continue;
      }
      if (error instanceof AepNotFoundError) {
        throw new PipelineError(
          'ACTIVATION_FAILED',
          `Dataflow ${target.flowId} was not found in sandbox "${deps.config.sandboxName}"; ` +
            'check the flowId in the manifest or the stack configuration',
          { cause: error },
        );
      }
      if (error instanceof AepRequestError) {
        throw new PipelineError(
          'ACTIVATION_FAILED',
          `AEP refused to add audience "${audience.name}" to dataflow ${target.flowId}: ` +
            `${error.detail ?? error.message}`,
          { cause: error },
        );
      }
      throw error;
    }
    // Recorded once per audience and dataflow: later refreshes find it in the item read above.
    if (status !== 'NOT_PRESENT' && item?.flows?.[target.flowId] !== target.kind) {
      await deps.registry.recordFlow(registryKey, target.flowId, target.kind);
    }
    context?.logger.info('destination activated', { flowId: target.flowId, status });
    destinations.push({ flowId: target.flowId, kind: target.kind, status });
  }
  return handOverIfSuperseded(event.executionName, registryKey, audienceId, destinations, deps, context);
}

/**
 * The next generation may have become READY while this one was being added. Its own swap then either came after
 * our PATCHes (and removed this audience) or before them: in that case, swap it in here. The registry's consistent
 * reads make one of the two certain, so no dataflow keeps a superseded generation.
 */
async function handOverIfSuperseded(
  execution: string,
  registryKey: string,
  audienceId: string,
  destinations: ActivationState['destinations'],
  deps: AepTaskDeps,
  context?: TaskContext,
): Promise<ActivationState> {
  const nextKey = (await deps.registry.get(registryKey))?.rolledOverTo;
  if (nextKey === undefined) return { destinations };
  const next = await deps.registry.get(nextKey);
  if (!next?.audienceId) {
    throw new PipelineError(
      'CONFIG_INVALID',
      `Registry item "${nextKey}" that superseded "${registryKey}" has no audience id`,
    );
  }
  context?.logger.info('superseded while being added; handing the dataflows over', {
    next: next.audienceName,
  });
  for (const destination of destinations) {
    if (destination.status === 'NOT_PRESENT') continue;
    const handed = await editDataflow(
      {
        flowId: destination.flowId,
        audienceId: next.audienceId,
        audienceName: next.audienceName,
        replacesAudienceIds: [audienceId],
        onlyWhereReplaced: true,
      },
      execution,
      deps,
      context,
    );
    if (handed !== 'NOT_PRESENT')
      await deps.registry.recordFlow(nextKey, destination.flowId, destination.kind);
  }
  return {
    destinations: destinations.map((d) => (d.status === 'NOT_PRESENT' ? d : { ...d, status: 'SUPERSEDED' })),
  };
}
