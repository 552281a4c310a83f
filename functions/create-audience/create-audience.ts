// CreateAudience: turn the validated file's audience plan into an AEP audience, or find the one it refreshes.
// The registry's conditional claim makes sure concurrent executions never create one name twice.
import type { CreateAudienceResult } from '../shared/aep/api.ts';
import { AepConflictError, AepError } from '../shared/aep/errors.ts';
import { type AepTaskDeps, audienceRunLimitError, requirePart } from '../shared/aep-context.ts';
import { PipelineError } from '../shared/pipeline-errors.ts';
import { firstPoll } from '../shared/polling.ts';
import type { RegistryItem } from '../shared/registry.ts';
import type { AudiencePlan, AudienceState, TaskEvent, ValidationResult } from '../shared/state.ts';
import type { TaskContext } from '../shared/task-handler.ts';

const TASK = 'CreateAudience';

function ready(audienceId: string, name: string, refreshed: boolean): AudienceState {
  return { status: 'READY', audienceId, name, refreshed, poll: firstPoll() };
}

function busy(plan: AudiencePlan, item: RegistryItem): PipelineError {
  return new PipelineError(
    'AEP_BUSY',
    `another file (execution ${item.createdByExecution}) is creating audience "${plan.name}"; retrying`,
  );
}

/**
 * Another execution is creating this audience: wait for it in WaitForAudience. CREATING without an operation id
 * tells CheckAudience to watch the registry rather than an AEP operation; the file then refreshes the audience.
 */
function waitForOtherCreation(plan: AudiencePlan): AudienceState {
  return { status: 'CREATING', name: plan.name, refreshed: true, poll: firstPoll() };
}

/** A refresh of a READY audience: it must have a run left, unless this execution already holds one. */
export function refresh(item: RegistryItem, execution: string, deps: AepTaskDeps): AudienceState {
  if (!item.audienceId) {
    throw new PipelineError(
      'CONFIG_INVALID',
      `Registry item of "${item.audienceName}" is READY without an audience id`,
    );
  }
  if (!item.runs[execution] && item.runCount >= deps.config.maxRunsPerAudience) {
    throw audienceRunLimitError(item.audienceName, deps.config.maxRunsPerAudience);
  }
  return ready(item.audienceId, item.audienceName, true);
}

/** The audience AEP says exists under our name: record it, or wait for AEP's listing to show it. */
async function adoptExisting(plan: AudiencePlan, deps: AepTaskDeps): Promise<AudienceState> {
  const found = await deps.aep.findAudienceByName(plan.name);
  if (!found) {
    throw new PipelineError(
      'AEP_BUSY',
      `AEP reports that audience "${plan.name}" exists but does not list it yet; retrying`,
    );
  }
  await deps.registry.markReady(plan.registryKey, found.audienceId);
  return ready(found.audienceId, plan.name, false);
}

/**
 * POST the audience. `resuming` is true when this execution's own claim was already there: an earlier attempt
 * may have created the audience without learning so, and a 409 then means "it did" (DESIGN §1).
 */
async function create(
  plan: AudiencePlan,
  validation: ValidationResult,
  execution: string,
  deps: AepTaskDeps,
  resuming: boolean,
): Promise<AudienceState> {
  let result: CreateAudienceResult;
  try {
    result = await deps.aep.createAudience({
      name: plan.name,
      ...(plan.description === undefined ? {} : { description: plan.description }),
      fields: validation.fields,
      sourcePath: plan.sourcePath,
      sourceType: 'folder',
      ttlInDays: plan.ttlInDays,
      ...(plan.labels === undefined ? {} : { labels: plan.labels }),
    });
  } catch (error) {
    if (error instanceof AepConflictError && resuming) return adoptExisting(plan, deps);
    if (error instanceof AepError && !error.retryable) {
      // Terminal: nothing was created, so free the name for a fixed re-upload.
      await deps.registry.releaseFailedCreation(plan.registryKey, execution);
    }
    if (error instanceof AepConflictError) {
      throw new PipelineError(
        'AEP_REQUEST_REJECTED',
        `An audience named "${plan.name}" already exists in AEP and was not created by this pipeline; ` +
          'rename the file (or set "name" in its manifest), or set "audienceId" in the manifest to refresh that audience',
        { cause: error },
      );
    }
    throw error;
  }
  if (result.kind === 'ALREADY_CREATED') return adoptExisting(plan, deps);
  const recorded = await deps.registry.recordOperation(plan.registryKey, execution, result.operationId);
  if (!recorded) {
    throw new PipelineError(
      'AEP_BUSY',
      `The registry claim on audience "${plan.name}" changed hands; retrying`,
    );
  }
  return {
    status: 'CREATING',
    operationId: result.operationId,
    name: plan.name,
    refreshed: false,
    poll: firstPoll(),
  };
}

/** A manifest `audienceId`: refresh that audience, create nothing. */
async function registerManifestAudience(
  plan: AudiencePlan,
  audienceId: string,
  execution: string,
  deps: AepTaskDeps,
): Promise<AudienceState> {
  const outcome = await deps.registry.registerExisting(plan, audienceId, execution);
  if (outcome === 'REGISTERED') return ready(audienceId, plan.name, true);
  if (outcome.status === 'CREATING') throw busy(plan, outcome);
  if (outcome.audienceId !== audienceId) {
    throw new PipelineError(
      'AEP_REQUEST_REJECTED',
      `The manifest asks to refresh audience ${audienceId}, but the name "${plan.name}" belongs to audience ` +
        `${outcome.audienceId} in this pipeline's registry; remove "audienceId" or use a different name`,
    );
  }
  return refresh(outcome, execution, deps);
}

export async function createAudience(
  event: TaskEvent,
  deps: AepTaskDeps,
  context?: TaskContext,
): Promise<AudienceState> {
  const validation = requirePart(event.state.validation, '$.validation', TASK);
  const plan = requirePart(validation.audience, '$.validation.audience', TASK);
  const execution = event.executionName;

  if (plan.audienceId) return registerManifestAudience(plan, plan.audienceId, execution, deps);

  const claim = await deps.registry.claimCreation(plan, execution);
  if (claim === 'CLAIMED') return create(plan, validation, execution, deps, false);
  if (claim.status === 'READY') {
    context?.logger.info('refreshing an existing audience', {
      audienceId: claim.audienceId,
      runCount: claim.runCount,
    });
    return refresh(claim, execution, deps);
  }
  if (claim.createdByExecution !== execution) {
    context?.logger.info('waiting for another file to create the audience', {
      creator: claim.createdByExecution,
    });
    return waitForOtherCreation(plan);
  }
  // This execution's own claim: a Lambda retry or a redrive of CreateAudience.
  if (claim.operationId) {
    return {
      status: 'CREATING',
      operationId: claim.operationId,
      name: plan.name,
      refreshed: false,
      poll: firstPoll(),
    };
  }
  return create(plan, validation, execution, deps, true);
}
