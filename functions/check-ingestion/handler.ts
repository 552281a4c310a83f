// Lambda entry of the CheckIngestion state.
import { aepTaskDeps } from '../shared/aep-context.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { checkIngestion } from './check-ingestion.ts';

export const handler = taskHandler('check-ingestion', async (event, context) =>
  checkIngestion(event, await aepTaskDeps(context.logger, context.metrics.aepCall, event.state.file)),
);
