// Lambda entry of the rule on the state machine's FAILED / TIMED_OUT / ABORTED executions: a middy chain of
// Powertools' logger context and metrics flush, our correlation id and fault count (any error here is a fault),
// with record-execution-failure last. Each execution it reports is counted on the metric that pages for it.
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { SFNClient } from '@aws-sdk/client-sfn';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { readEnv } from '../shared/env.ts';
import { createLogger } from '../shared/log.ts';
import { PipelineMetrics } from '../shared/metrics.ts';
import { correlate } from '../shared/middleware/correlation.ts';
import { pipelineErrors } from '../shared/middleware/pipeline-errors.ts';
import { notifierFromEnvironment, outcomeMessage } from '../shared/notify.ts';
import { reportOutcome } from '../shared/outcome.ts';
import { s3Client } from '../shared/s3.ts';
import {
  pagingMetricOf,
  type RecordFailureResult,
  recordExecutionFailure,
} from './record-execution-failure.ts';

const SERVICE = 'record-execution-failure';
// Built once per cold start; a missing bucket fails the init before any event is taken.
const env = readEnv(z.object({ BUCKET_NAME: z.string().min(1) }));
const s3 = s3Client();
const sfn = new SFNClient({});
const logger = createLogger({ service: SERVICE });
const metrics = new PipelineMetrics(SERVICE);
const now = () => new Date();

/** The execution the status-change event is about: its name, or the last segment of its ARN. */
function executionOf(event: unknown): string {
  const detail = (event as { detail?: { name?: unknown; executionArn?: unknown } } | null)?.detail;
  if (typeof detail?.name === 'string' && detail.name) return detail.name;
  if (typeof detail?.executionArn === 'string') return detail.executionArn.split(':').at(-1) ?? 'unknown';
  return 'unknown';
}

export const handler = middy<unknown, RecordFailureResult, Error, Context>()
  .use(injectLambdaContext(logger.powertools, { resetKeys: true }))
  .use(correlate({ logger, metrics }, executionOf))
  .use(logMetrics(metrics))
  .use(pipelineErrors({ logger, metrics }))
  .handler(async (event) => {
    const result = await recordExecutionFailure(event, {
      s3,
      sfn,
      config: { bucket: env.BUCKET_NAME },
      logger,
      now,
    });
    // ALREADY_REPORTED: HandleFailure wrote error.json and published the outcome.
    if (result.status === 'WRITTEN') {
      const paging = pagingMetricOf(result);
      if (paging) metrics.count(paging);
      const message = outcomeMessage({
        outcome: 'FAILED',
        bucket: result.file?.bucket ?? env.BUCKET_NAME,
        file: result.file?.key ?? '(unknown file)',
        execution: result.execution,
        executionArn: result.executionArn,
        failure: { code: result.code, message: result.message },
      });
      await reportOutcome(message, result.file?.eventTime, {
        notifier: notifierFromEnvironment(),
        metrics,
        logger,
        now,
      });
    }
    return result;
  });
