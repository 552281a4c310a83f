// Lambda entry of start-pipeline, invoked by the EventBridge rule on Object Created under incoming/: a middy
// chain of Powertools' logger context and our correlation id, with start-pipeline last.
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { SFNClient } from '@aws-sdk/client-sfn';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { readEnv } from '../shared/env.ts';
import { createLogger } from '../shared/log.ts';
import { correlate } from '../shared/middleware/correlation.ts';
import { s3Client } from '../shared/s3.ts';
import { DEFAULT_KEY_ENCODING, type StartPipelineResult, startPipeline } from './start-pipeline.ts';

// Built once per cold start; a missing setting fails the init, loudly, before any event is taken.
const env = readEnv(
  z.object({
    STATE_MACHINE_ARN: z.string().min(1),
    S3_EVENT_KEY_ENCODING: z.enum(['url', 'raw']).default(DEFAULT_KEY_ENCODING),
  }),
);
// The endpoint comes from AWS_ENDPOINT_URL_SFN when set (the local runner), which the SDK reads itself.
const sfn = new SFNClient({});
const s3 = s3Client();
const logger = createLogger({ service: 'start-pipeline' });

/** Until start-pipeline names the execution, lines are correlated by the EventBridge event's id. */
function eventId(event: unknown): string {
  const id = (event as { id?: unknown } | null)?.id;
  return typeof id === 'string' && id ? `event-${id}` : 'event-unknown';
}

export const handler = middy<unknown, StartPipelineResult, Error, Context>()
  .use(injectLambdaContext(logger.powertools, { resetKeys: true }))
  .use(correlate({ logger }, eventId))
  .handler((event) =>
    startPipeline(event, {
      sfn,
      s3,
      config: { stateMachineArn: env.STATE_MACHINE_ARN, keyEncoding: env.S3_EVENT_KEY_ENCODING },
      logger,
      now: () => new Date(),
    }),
  );
