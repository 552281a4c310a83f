// The optional manifest beside a CSV (docs/contracts.md#manifest): a strict zod schema (unknown keys are an
// error), and its conversion to the state's destinations.
import * as z from 'zod';
import {
  batchExportProblems,
  EXPORT_MODES,
  exportSchedule,
  TRIGGER_TYPES,
} from '../shared/aep/batch-export.ts';
import { AEP_FIELD_TYPES } from '../shared/aep/types.ts';
import type { Destination } from '../shared/state.ts';

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date YYYY-MM-DD');

const streamingDestination = z.object({ flowId: z.string().min(1), kind: z.literal('streaming') }).strict();

/** The shape here; AEP's rules on the values (frequency per mode, startTime, triggerType…) in batch-export.ts. */
const batchDestination = z
  .object({
    flowId: z.string().min(1),
    kind: z.literal('batch'),
    exportMode: z.enum(EXPORT_MODES),
    schedule: z
      .object({
        frequency: z.string(),
        triggerType: z.enum(TRIGGER_TYPES).optional(),
        startDate: isoDate,
        endDate: isoDate.optional(),
        startTime: z.string().optional(),
      })
      .strict(),
    filenameTemplate: z.string(),
  })
  .strict()
  .superRefine((destination, ctx) => {
    for (const problem of batchExportProblems(destination)) {
      ctx.addIssue({
        code: 'custom',
        path: problem.path,
        message: `destination ${destination.flowId} (${destination.exportMode}): ${problem.rule}`,
      });
    }
  });

export const manifestSchema = z
  .object({
    name: z.string().trim().min(1).max(255).optional(),
    description: z.string().max(1000).optional(),
    identities: z.record(z.string(), z.string().min(1)).optional(),
    fields: z.record(z.string(), z.enum(AEP_FIELD_TYPES)).optional(),
    labels: z.array(z.string().min(1)).optional(),
    fieldLabels: z.record(z.string(), z.array(z.string().min(1))).optional(),
    ttlInDays: z.number().int().min(1).max(90).optional(),
    maxInvalidRowsPercent: z.number().min(0).max(100).optional(),
    /** Stage SHA-256 digests of normalized e-mails and phones, never the raw values (docs/contracts.md#manifest). */
    hashIdentities: z.boolean().optional(),
    audienceId: z.string().min(1).optional(),
    /** Extend the audience's TTL before it expires (the KeepAlive function), instead of letting it lapse. */
    keepAlive: z.boolean().optional(),
    destinations: z.array(z.union([streamingDestination, batchDestination])).optional(),
  })
  .strict();

export type Manifest = z.infer<typeof manifestSchema>;

export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestError';
  }
}

/** Parses manifest text; the error names the offending key's path. */
export function parseManifest(text: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ManifestError(`the manifest is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? `"${issue.path.join('.')}"` : 'the manifest';
  const what =
    issue?.code === 'unrecognized_keys'
      ? `unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`
      : issue?.message;
  throw new ManifestError(`manifest key ${where}: ${what}`);
}

/** The manifest's flat destination shape → the state's `{flowId, kind, batch?}`. */
export function manifestDestinations(manifest: Manifest): Destination[] | undefined {
  return manifest.destinations?.map((d) =>
    d.kind === 'streaming'
      ? { flowId: d.flowId, kind: 'streaming' }
      : {
          flowId: d.flowId,
          kind: 'batch',
          batch: {
            exportMode: d.exportMode,
            schedule: exportSchedule(d),
            filenameTemplate: d.filenameTemplate,
          },
        },
  );
}
