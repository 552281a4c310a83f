// Lambda entry of start-pipeline, invoked by the EventBridge rule on Object Created under incoming/.
import { SFNClient } from '@aws-sdk/client-sfn';
import middy from '@middy/core';
import { z } from 'zod';
import { readEnv } from '../shared/env.ts';
import { createLogger } from '../shared/log.ts';
import { type StartPipelineResult, startPipeline } from './start-pipeline.ts';

const env = readEnv(z.object({ STATE_MACHINE_ARN: z.string().min(1) }));
const sfn = new SFNClient({});
const logger = createLogger({ service: 'start-pipeline' });

export const handler = middy<unknown, StartPipelineResult>().handler((event) =>
  startPipeline(event, { sfn, stateMachineArn: env.STATE_MACHINE_ARN, logger }),
);
