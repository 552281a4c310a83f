// Lambda entry of the rule on the state machine's FAILED / TIMED_OUT / ABORTED executions.
import { SFNClient } from '@aws-sdk/client-sfn';
import middy from '@middy/core';
import { z } from 'zod';
import { readEnv } from '../shared/env.ts';
import { createLogger } from '../shared/log.ts';
import { s3Client } from '../shared/s3.ts';
import { type RecordFailureResult, recordExecutionFailure } from './record-execution-failure.ts';

// Built once per cold start; a missing bucket fails the init before any event is taken.
const env = readEnv(z.object({ BUCKET_NAME: z.string().min(1) }));
const deps = {
  s3: s3Client(),
  sfn: new SFNClient({}),
  config: { bucket: env.BUCKET_NAME },
  logger: createLogger({ service: 'record-execution-failure' }),
  now: () => new Date(),
};

export const handler = middy<unknown, RecordFailureResult>().handler((event) =>
  recordExecutionFailure(event, deps),
);
