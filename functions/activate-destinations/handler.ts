// Lambda entry of the ActivateDestinations state.
import { aepTaskDeps } from '../shared/aep-context.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { activateDestinations } from './activate-destinations.ts';

export const handler = taskHandler('activate-destinations', async (event, context) =>
  activateDestinations(
    event,
    await aepTaskDeps(context.logger, context.metrics.aepCall, event.state.file),
    context,
  ),
);
