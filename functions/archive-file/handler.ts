// Lambda entry of the ArchiveFile state: the S3 client is built once per cold start.
import { s3Client } from '../shared/s3.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { archiveFile } from './archive-file.ts';

const s3 = s3Client();

export const handler = taskHandler('archive-file', (event, { logger }) =>
  archiveFile(event, { s3, logger, now: () => new Date() }),
);
