// Lambda entry of the CheckAudience state.
import { aepTaskDeps } from '../shared/aep-context.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { checkAudience } from './check-audience.ts';

export const handler = taskHandler('check-audience', async (event, context) =>
  checkAudience(event, await aepTaskDeps(context.logger, context.metrics.aepCall, event.state.file), context),
);
