// Lambda entry of the HandleFailure state: the S3 client is built once per cold start.
import { notifierFromEnvironment, outcomeMessage } from '../shared/notify.ts';
import { reportOutcome } from '../shared/outcome.ts';
import { s3Client } from '../shared/s3.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { handleFailure } from './handle-failure.ts';

const s3 = s3Client();
const now = () => new Date();

export const handler = taskHandler('handle-failure', async (event, context) => {
  const failure = await handleFailure(event, { s3, logger: context.logger, now });
  const { file } = event.state;
  const message = outcomeMessage({
    outcome: 'FAILED',
    bucket: file.bucket,
    file: file.key,
    execution: event.executionName,
    executionArn: context.executionArn,
    state: event.state,
    failure,
  });
  await reportOutcome(message, file.eventTime, { notifier: notifierFromEnvironment(), now, ...context });
  return failure;
});
