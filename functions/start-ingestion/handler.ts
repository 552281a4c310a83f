// Lambda entry of the StartIngestion state.
import { aepTaskDeps } from '../shared/aep-context.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { startIngestion } from './start-ingestion.ts';

export const handler = taskHandler('start-ingestion', async (event, context) =>
  startIngestion(
    event,
    await aepTaskDeps(context.logger, context.metrics.aepCall, event.state.file),
    context,
  ),
);
