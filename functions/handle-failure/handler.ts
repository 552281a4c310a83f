// Lambda entry of the HandleFailure state.
import { s3Client } from '../shared/s3.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { handleFailure } from './handle-failure.ts';

const s3 = s3Client();

export const handler = taskHandler('handle-failure', (event) =>
  handleFailure(event, { s3, now: () => new Date() }),
);
