// Lambda entry of the rule on the state machine's FAILED / TIMED_OUT / ABORTED executions.
import middy from '@middy/core';
import { z } from 'zod';
import { readEnv } from '../shared/env.ts';
import { createLogger } from '../shared/log.ts';
import { s3Client } from '../shared/s3.ts';
import { recordExecutionFailure } from './record-execution-failure.ts';

const env = readEnv(z.object({ BUCKET_NAME: z.string().min(1) }));
const deps = {
  s3: s3Client(),
  bucket: env.BUCKET_NAME,
  logger: createLogger({ service: 'record-execution-failure' }),
  now: () => new Date(),
};

export const handler = middy().handler((event: unknown) => recordExecutionFailure(event, deps));
