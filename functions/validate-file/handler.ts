// Lambda entry of the ValidateFile state.
import * as z from 'zod';
import { jsonEnv, readEnv } from '../shared/env.ts';
import { METRIC } from '../shared/metric-names.ts';
import { registryFromEnvironment } from '../shared/registry.ts';
import { s3Client } from '../shared/s3.ts';
import { destinationSchema } from '../shared/state.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { teamsFromEnvironment } from '../shared/teams.ts';
import { isRangeWorker } from './engine/range-worker.ts';
import { defaultWorkers, ThreadPool } from './engine/thread-pool.ts';
import { validateFile } from './validate-file.ts';

const env = readEnv(
  z.object({
    DEFAULT_DESTINATIONS: z.preprocess(jsonEnv, z.array(destinationSchema)).default([]),
    DEFAULT_TTL_DAYS: z.coerce.number().int().min(1).max(90).default(30),
    SOURCE_PATH_INCLUDES_BUCKET: z.enum(['true', 'false']).default('true'),
    REQUIRE_MANIFEST: z.enum(['true', 'false']).default('false'),
    IDENTITY_NAMESPACES: z.preprocess(jsonEnv, z.record(z.string(), z.string())).default({ crmid: 'CRMID' }),
    // 1 in the small function; the large one leaves it unset and parses on every vCPU it has.
    VALIDATION_WORKERS: z.coerce.number().int().min(1).max(64).optional(),
    // Slices handed to the workers; only tests set it, to make many slices of a small file.
    VALIDATION_SPLIT_BYTES: z.coerce.number().int().positive().optional(),
    MAX_FILE_SIZE_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .default(10 * 1024 ** 3),
  }),
);
const workers = env.VALIDATION_WORKERS ?? defaultWorkers();
const teams = teamsFromEnvironment();
const deps = {
  teams,
  // Read only for a team's file whose audience may predate teams (plannedKey); a stack without teams has none.
  registry:
    Object.keys(teams.teams).length > 0 && process.env.REGISTRY_TABLE_NAME
      ? registryFromEnvironment()
      : undefined,
  s3: s3Client(),
  // Started at init, when Lambda gives the environment its full CPU, and kept warm across invocations.
  // Not in a range worker itself: a bundle's worker evaluates this module too.
  pool: workers > 1 && !isRangeWorker() ? new ThreadPool(workers) : undefined,
  config: {
    defaultDestinations: env.DEFAULT_DESTINATIONS,
    defaultTtlInDays: env.DEFAULT_TTL_DAYS,
    sourcePathIncludesBucket: env.SOURCE_PATH_INCLUDES_BUCKET === 'true',
    requireManifest: env.REQUIRE_MANIFEST === 'true',
    identityNamespaces: env.IDENTITY_NAMESPACES,
    maxFileSizeBytes: env.MAX_FILE_SIZE_BYTES,
    workers,
    splitBytes: env.VALIDATION_SPLIT_BYTES,
  },
};

/** The handler of both validation functions, named by the function (its logs' and metrics' service). */
export function validationHandler(service: 'validate-file' | 'validate-large-file') {
  return taskHandler(service, async (event, context) => {
    // A pool whose worker died (out of memory, a crash) would fail every later file of this warm
    // environment: the next invocation gets fresh workers (the file it failed pages as a fault; redrive it).
    if (deps.pool?.broken) {
      void deps.pool.close();
      deps.pool = new ThreadPool(workers);
    }
    const result = await validateFile(event, { ...deps, logger: context.logger });
    context.metrics.count(METRIC.rows, result.rows);
    context.metrics.count(METRIC.invalidRows, result.invalidRows);
    return result;
  });
}

export const handler = validationHandler('validate-file');
