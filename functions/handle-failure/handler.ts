// Lambda entry of the HandleFailure state: the S3 client is built once per cold start.
import { s3Client } from '../shared/s3.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { handleFailure } from './handle-failure.ts';

const s3 = s3Client();

export const handler = taskHandler('handle-failure', (event, { logger }) =>
  handleFailure(event, { s3, logger, now: () => new Date() }),
);
