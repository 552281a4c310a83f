// Lambda entry of the ArchiveFile state.
import { s3Client } from '../shared/s3.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { archiveFile } from './archive-file.ts';

const s3 = s3Client();

export const handler = taskHandler('archive-file', (event) =>
  archiveFile(event, { s3, now: () => new Date() }),
);
