// Lambda entry of DeleteAudience, invoked by `aep-audience audiences delete` (so that the AEP credentials stay
// in AWS): Powertools' logger context and metrics flush, our fault count, the deletion last.
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { aepUpkeepClient } from '../shared/aep-context.ts';
import { readEnv } from '../shared/env.ts';
import { createLogger } from '../shared/log.ts';
import { PipelineMetrics } from '../shared/metrics.ts';
import { correlate } from '../shared/middleware/correlation.ts';
import { pipelineErrors } from '../shared/middleware/pipeline-errors.ts';
import { registryKey } from '../shared/naming.ts';
import { PipelineError } from '../shared/pipeline-errors.ts';
import { registryFromEnvironment } from '../shared/registry.ts';
import { s3Client } from '../shared/s3.ts';
import { teamsFromEnvironment } from '../shared/teams.ts';
import { S3StagedRetention } from '../shared/upkeep.ts';
import { type DeleteAudienceEvent, type DeleteAudienceResult, deleteAudience } from './delete-audience.ts';

const SERVICE = 'delete-audience';
const env = readEnv(z.object({ BUCKET_NAME: z.string().min(1) }));
const logger = createLogger({ service: SERVICE });
const metrics = new PipelineMetrics(SERVICE);
const registry = registryFromEnvironment();
const staging = new S3StagedRetention(s3Client(), env.BUCKET_NAME);
const eventSchema = z
  .object({ name: z.string().min(1), team: z.string().min(1).optional(), confirm: z.boolean().optional() })
  .strict();

export const handler = middy<DeleteAudienceEvent, DeleteAudienceResult, Error, Context>()
  .use(injectLambdaContext(logger.powertools, { resetKeys: true }))
  .use(
    correlate(
      { logger, metrics },
      (event: DeleteAudienceEvent) => `delete-audience-${String(event?.name ?? '')}`,
    ),
  )
  .use(logMetrics(metrics))
  .use(pipelineErrors({ logger, metrics }))
  .handler(async (event, context) => {
    const parsed = eventSchema.safeParse(event);
    if (!parsed.success) {
      throw new PipelineError(
        'CONFIG_INVALID',
        'delete-audience input is malformed: it takes {"name": "<audience>", "confirm": true}',
      );
    }
    const { team } = parsed.data;
    const settings = team === undefined ? undefined : teamsFromEnvironment().teams[team];
    if (team !== undefined && !settings?.sandboxName) {
      throw new PipelineError(
        'CONFIG_INVALID',
        `Team "${team}" is not in pipeline.teams (or has no sandboxName)`,
      );
    }
    const { aep } = await aepUpkeepClient(logger, metrics.aepCall, team);
    return deleteAudience(parsed.data, {
      aep,
      keyOf: (event) =>
        registryKey(
          event.name,
          settings?.sandboxName && team ? { sandbox: settings.sandboxName, team } : undefined,
        ),
      registry,
      coordination: registry.coordination(),
      staging,
      owner: `delete-audience#${context.awsRequestId}`,
      logger,
    });
  });
