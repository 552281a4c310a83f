// ActivateDestinations: add the audience to each destination dataflow, in order. Re-running is safe: a
// dataflow that already selects the audience answers ALREADY_PRESENT.
import { AepNotFoundError, AepRequestError } from '../shared/aep/errors.ts';
import { type AepTaskDeps, requirePart } from '../shared/aep-context.ts';
import { PipelineError } from '../shared/pipeline-errors.ts';
import type { ActivationState, TaskEvent } from '../shared/state.ts';
import type { TaskContext } from '../shared/task-handler.ts';

const TASK = 'ActivateDestinations';

export async function activateDestinations(
  event: TaskEvent,
  deps: AepTaskDeps,
  context?: TaskContext,
): Promise<ActivationState> {
  const validation = requirePart(event.state.validation, '$.validation', TASK);
  const audience = requirePart(event.state.audience, '$.audience', TASK);
  const audienceId = requirePart(audience.audienceId, '$.audience.audienceId', TASK);

  const destinations: ActivationState['destinations'] = [];
  // Sequential on purpose: each outcome is reported in manifest order, and a failure stops at that flow.
  for (const destination of validation.destinations) {
    let status: ActivationState['destinations'][number]['status'];
    try {
      status = await deps.aep.addAudienceToDataflow({
        flowId: destination.flowId,
        audienceId,
        audienceName: audience.name,
        ...(destination.batch === undefined ? {} : { batch: destination.batch }),
      });
    } catch (error) {
      if (error instanceof AepNotFoundError) {
        throw new PipelineError(
          'ACTIVATION_FAILED',
          `Dataflow ${destination.flowId} was not found in sandbox "${deps.config.sandboxName}"; ` +
            'check the flowId in the manifest or the stack configuration',
          { cause: error },
        );
      }
      if (error instanceof AepRequestError) {
        throw new PipelineError(
          'ACTIVATION_FAILED',
          `AEP refused to add audience "${audience.name}" to dataflow ${destination.flowId}: ` +
            `${error.detail ?? error.message}`,
          { cause: error },
        );
      }
      throw error;
    }
    context?.logger.info('destination activated', { flowId: destination.flowId, status });
    destinations.push({ flowId: destination.flowId, kind: destination.kind, status });
  }
  return { destinations };
}
