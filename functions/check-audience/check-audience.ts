// CheckAudience: poll AEP's creation operation until the audience exists, failed, or the poll budget is spent.

import { generationOf, settleGeneration } from '../create-audience/create-audience.ts';
import { type AepTaskDeps, requirePart } from '../shared/aep-context.ts';
import { PipelineError } from '../shared/pipeline-errors.ts';
import { nextPoll, OPERATION_POLL_LIMIT } from '../shared/polling.ts';
import {
  type AudiencePlan,
  type AudienceState,
  audienceRegistryKey,
  type TaskEvent,
} from '../shared/state.ts';
import type { TaskContext } from '../shared/task-handler.ts';

const TASK = 'CheckAudience';

/**
 * Another execution creates this audience (CreateAudience found its claim): once it is READY, settle on it as
 * CreateAudience would (it may have had its runs by then, and roll over).
 */
async function watchOtherCreation(
  event: TaskEvent,
  audience: AudienceState,
  plan: AudiencePlan,
  deps: AepTaskDeps,
  context?: TaskContext,
): Promise<AudienceState> {
  const item = await deps.registry.get(audienceRegistryKey(audience, plan));
  if (!item) {
    throw new PipelineError(
      'AEP_OPERATION_FAILED',
      `Another file's creation of audience "${audience.name}" failed (see that execution); upload this file again`,
    );
  }
  if (item.status === 'READY') {
    const validation = requirePart(event.state.validation, '$.validation', TASK);
    return settleGeneration(generationOf(item, plan), validation, event.executionName, deps, context);
  }
  return { ...audience, poll: nextPoll(audience.poll, OPERATION_POLL_LIMIT, `audience "${audience.name}"`) };
}

export async function checkAudience(
  event: TaskEvent,
  deps: AepTaskDeps,
  context?: TaskContext,
): Promise<AudienceState> {
  const audience = requirePart(event.state.audience, '$.audience', TASK);
  if (audience.status === 'READY') return audience;
  const plan = requirePart(event.state.validation?.audience, '$.validation.audience', TASK);
  if (audience.operationId === undefined) return watchOtherCreation(event, audience, plan, deps, context);
  const registryKey = audienceRegistryKey(audience, plan);
  const operationId = audience.operationId;

  const operation = await deps.aep.getOperation(operationId);
  if (operation.status === 'SUCCESS') {
    const audienceId = operation.audienceId ?? (await deps.aep.findAudienceByName(audience.name))?.audienceId;
    if (!audienceId) {
      throw new PipelineError(
        'AEP_BUSY',
        `AEP reports audience "${audience.name}" created (operation ${operationId}) but gives no audience id yet; retrying`,
      );
    }
    await deps.registry.markReady(registryKey, audienceId);
    context?.logger.info('audience created', { audienceId, operationId });
    return { ...audience, status: 'READY', audienceId };
  }
  if (operation.status === 'FAILED') {
    // Free the name, so that a fixed re-upload can create the audience again.
    await deps.registry.releaseFailedCreation(registryKey, event.executionName);
    throw new PipelineError(
      'AEP_OPERATION_FAILED',
      `AEP could not create audience "${audience.name}" (operation ${operationId}): ` +
        `${operation.failureReason ?? 'AEP gave no reason'}`,
    );
  }
  return { ...audience, poll: nextPoll(audience.poll, OPERATION_POLL_LIMIT, `audience "${audience.name}"`) };
}
