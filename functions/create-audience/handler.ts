// Lambda entry of the CreateAudience state.
import { aepTaskDeps } from '../shared/aep-context.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { createAudience } from './create-audience.ts';

export const handler = taskHandler('create-audience', async (event, context) =>
  createAudience(
    event,
    await aepTaskDeps(context.logger, context.metrics.aepCall, event.state.file),
    context,
  ),
);
