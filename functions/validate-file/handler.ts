// Lambda entry of the ValidateFile state.
import * as z from 'zod';
import { jsonEnv, readEnv } from '../shared/env.ts';
import { METRIC } from '../shared/metric-names.ts';
import { s3Client } from '../shared/s3.ts';
import { destinationSchema } from '../shared/state.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { validateFile } from './validate-file.ts';

const env = readEnv(
  z.object({
    DEFAULT_DESTINATIONS: z.preprocess(jsonEnv, z.array(destinationSchema)).default([]),
    DEFAULT_TTL_DAYS: z.coerce.number().int().min(1).max(90).default(30),
    SOURCE_PATH_INCLUDES_BUCKET: z.enum(['true', 'false']).default('true'),
    REQUIRE_MANIFEST: z.enum(['true', 'false']).default('false'),
    IDENTITY_NAMESPACES: z.preprocess(jsonEnv, z.record(z.string(), z.string())).default({ crmid: 'CRMID' }),
    MAX_FILE_SIZE_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .default(10 * 1024 ** 3),
  }),
);
const deps = {
  s3: s3Client(),
  config: {
    defaultDestinations: env.DEFAULT_DESTINATIONS,
    defaultTtlInDays: env.DEFAULT_TTL_DAYS,
    sourcePathIncludesBucket: env.SOURCE_PATH_INCLUDES_BUCKET === 'true',
    requireManifest: env.REQUIRE_MANIFEST === 'true',
    identityNamespaces: env.IDENTITY_NAMESPACES,
    maxFileSizeBytes: env.MAX_FILE_SIZE_BYTES,
  },
};

export const handler = taskHandler('validate-file', async (event, context) => {
  const result = await validateFile(event, { ...deps, logger: context.logger });
  context.metrics.count(METRIC.rows, result.rows);
  context.metrics.count(METRIC.invalidRows, result.invalidRows);
  return result;
});
