// Lambda entry of KeepAlive, invoked daily by EventBridge Scheduler (`{}`) or by `aep-audience keep-alive`
// (`{"asOf": "YYYY-MM-DD"}`): Powertools' logger context and metrics flush, our fault count, the upkeep last.
// Each run's counts are metrics; KeepAliveFailures is alarmed (lib/constructs/alarms.ts).
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { SNSClient } from '@aws-sdk/client-sns';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { aepUpkeepClient, dailyRunBudgetFromEnv } from '../shared/aep-context.ts';
import { readEnv } from '../shared/env.ts';
import { createLogger } from '../shared/log.ts';
import { METRIC } from '../shared/metric-names.ts';
import { PipelineMetrics } from '../shared/metrics.ts';
import { correlate } from '../shared/middleware/correlation.ts';
import { pipelineErrors } from '../shared/middleware/pipeline-errors.ts';
import { PipelineError } from '../shared/pipeline-errors.ts';
import { registryFromEnvironment } from '../shared/registry.ts';
import { s3Client } from '../shared/s3.ts';
import { teamsFromEnvironment } from '../shared/teams.ts';
import { type NoticePublisher, S3StagedRetention, SnsNoticePublisher } from '../shared/upkeep.ts';
import { type KeepAliveEvent, type KeepAliveReport, keepAlive, parseAsOf } from './keep-alive.ts';

const SERVICE = 'keep-alive';
const days = z.coerce.number().int().min(1).max(89);
const env = readEnv(
  z.object({
    BUCKET_NAME: z.string().min(1),
    KEEP_ALIVE_DAYS_BEFORE_EXPIRY: days.default(7),
    EXPIRY_WARNING_DAYS: days.default(7),
    NOTIFICATION_TOPIC_ARN: z.string().min(1).optional(),
  }),
);
const logger = createLogger({ service: SERVICE });
const metrics = new PipelineMetrics(SERVICE);
const registry = registryFromEnvironment();
const staging = new S3StagedRetention(s3Client(), env.BUCKET_NAME);
let sns: SNSClient | undefined;
const eventSchema = z.object({ asOf: z.string().min(1).optional() }).strict();

function noticePublisher(): NoticePublisher {
  if (env.NOTIFICATION_TOPIC_ARN) {
    sns ??= new SNSClient({});
    const { teams } = teamsFromEnvironment();
    return new SnsNoticePublisher(sns, env.NOTIFICATION_TOPIC_ARN, (team) => teams[team]?.topicArn);
  }
  return { publish: async () => undefined };
}

export const handler = middy<KeepAliveEvent | null, KeepAliveReport, Error, Context>()
  .use(injectLambdaContext(logger.powertools, { resetKeys: true }))
  .use(correlate({ logger, metrics }, () => `keep-alive-${new Date().toISOString().slice(0, 10)}`))
  .use(logMetrics(metrics))
  .use(pipelineErrors({ logger, metrics }))
  .handler(async (event) => {
    // The schedule sends `{}`; the CLI `{"asOf": …}`. Anything else is a wiring mistake, said as such.
    const parsed = eventSchema.safeParse(event ?? {});
    if (!parsed.success) {
      throw new PipelineError(
        'CONFIG_INVALID',
        'keep-alive input is malformed: it takes {} or {"asOf": "YYYY-MM-DD"}',
      );
    }
    const asOf = parsed.data.asOf;
    const asOfMs = asOf === undefined ? undefined : parseAsOf(asOf);
    if (asOf !== undefined && asOfMs === undefined) {
      throw new PipelineError(
        'CONFIG_INVALID',
        `asOf must be YYYY-MM-DD or an ISO 8601 instant, got "${asOf}"`,
      );
    }
    const now = asOfMs === undefined ? Date.now : () => asOfMs;
    const { aep, sandboxName } = await aepUpkeepClient(logger, metrics.aepCall);
    const onClock = registry.withClock(now);
    const report = await keepAlive({
      aep,
      aepFor: async (item) => (await aepUpkeepClient(logger, metrics.aepCall, item.team)).aep,
      registry: onClock,
      coordination: onClock.coordination(),
      now,
      config: {
        sandboxName,
        dailyRunBudget: dailyRunBudgetFromEnv(),
        keepAliveDaysBeforeExpiry: env.KEEP_ALIVE_DAYS_BEFORE_EXPIRY,
        expiryWarningDays: env.EXPIRY_WARNING_DAYS,
      },
      staging,
      notices: noticePublisher(),
      logger,
    });
    metrics.count(METRIC.audiencesExtended, report.extended);
    metrics.count(METRIC.expiryNotices, report.notices);
    metrics.count(METRIC.keepAliveFailures, report.failed);
    logger.info('keep-alive done', {
      asOf: report.asOf,
      audiences: report.audiences,
      extended: report.extended,
      notices: report.notices,
      failed: report.failed,
    });
    return report;
  });
