// Lambda entry of the ArchiveFile state: the S3 client is built once per cold start.
import { notifierFromEnvironment, outcomeMessage } from '../shared/notify.ts';
import { reportOutcome } from '../shared/outcome.ts';
import { s3Client } from '../shared/s3.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { archiveFile } from './archive-file.ts';

const s3 = s3Client();
const now = () => new Date();

export const handler = taskHandler('archive-file', async (event, context) => {
  const result = await archiveFile(event, { s3, logger: context.logger, now });
  const { file } = event.state;
  const message = outcomeMessage({
    outcome: 'SUCCEEDED',
    bucket: file.bucket,
    file: file.key,
    execution: event.executionName,
    executionArn: context.executionArn,
    state: event.state,
  });
  await reportOutcome(message, file.eventTime, { notifier: notifierFromEnvironment(), now, ...context });
  return result;
});
