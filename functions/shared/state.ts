// The execution's state document: what each Task receives and returns, parsed at the task boundary.
//
// Every Task is invoked with the payload `{ executionName: $$.Execution.Name, state: $ }` and its result is
// placed at one ResultPath of the state document:
//
//   $.file        execution input, from start-pipeline
//   $.validation  ValidateFile          (Choice `Rejected?` reads $.validation.valid)
//   $.error       RejectFile (Pass) or a Catch: {Error, Cause}
//   $.audience    CreateAudience, CheckAudience   (Choice `AudienceReady?` reads $.audience.status)
//   $.ingestion   StartIngestion, CheckIngestion  (Choice `IngestionDone?` reads $.ingestion.status)
//   $.activation  ActivateDestinations
//   $.result      ArchiveFile
//   $.failure     HandleFailure (the Fail state reads $.failure.code and $.failure.message)
//
// Tasks that schedule a poll return `poll: {attempt, waitSeconds}`; the Wait state after them uses
// `SecondsPath: $.<resultPath>.poll.waitSeconds`.
import * as z from 'zod';
import { AEP_FIELD_TYPES } from './aep/types.ts';

export const fileRefSchema = z.object({
  bucket: z.string().min(1),
  key: z.string().min(1),
  versionId: z.string().min(1).optional(),
  sequencer: z.string().min(1),
  size: z.number().int().nonnegative(),
  /**
   * The CSV bytes this execution validates, as start-pipeline estimates them: the object's size, a folder
   * drop's parts summed, a gzip's size times its expected expansion. The `LargeFile?` Choice routes on it.
   */
  dataBytes: z.number().int().nonnegative().optional(),
  eventTime: z.string().optional(),
});
export type FileRef = z.infer<typeof fileRefSchema>;

export const executionInputSchema = z.object({ file: fileRefSchema });
export type ExecutionInput = z.infer<typeof executionInputSchema>;

export const pollSchema = z.object({
  attempt: z.number().int().nonnegative(),
  waitSeconds: z.number().int().nonnegative(),
});
export type Poll = z.infer<typeof pollSchema>;

export const batchSettingsSchema = z.object({
  exportMode: z.enum(['DAILY_FULL_EXPORT', 'FIRST_FULL_THEN_INCREMENTAL']),
  schedule: z.object({
    frequency: z.string(),
    triggerType: z.enum(['SCHEDULED', 'AFTER_SEGMENT_EVAL']).optional(),
    startDate: z.string(),
    endDate: z.string().optional(),
    startTime: z.string().optional(),
  }),
  filenameTemplate: z.string(),
});

export const destinationSchema = z.object({
  flowId: z.string().min(1),
  kind: z.enum(['streaming', 'batch']),
  batch: batchSettingsSchema.optional(),
});
export type Destination = z.infer<typeof destinationSchema>;

export const fieldSchema = z.object({
  name: z.string(),
  type: z.enum(AEP_FIELD_TYPES),
  identityNs: z.string().optional(),
  labels: z.array(z.string()).optional(),
});

export const audiencePlanSchema = z.object({
  /** Name in AEP: the manifest's `name`, else the key below `incoming/` without its extension. */
  name: z.string().min(1),
  /** Registry key: the name, lower-cased. */
  registryKey: z.string().min(1),
  /** `staging/audiences/<slug>/`, with the trailing slash (an S3 prefix). */
  stagingPrefix: z.string().min(1),
  /** `sourceSpec.params.path` for AEP: the staging folder, bucket-prefixed or not per configuration. */
  sourcePath: z.string().min(1),
  /** The identity namespaces of the file's fields, sorted: AEP fixes an audience's at creation. */
  identityNamespaces: z.array(z.string()).optional(),
  description: z.string().optional(),
  ttlInDays: z.number().int().min(1).max(90),
  labels: z.array(z.string()).optional(),
  /** A manifest `audienceId`: refresh that audience, create nothing. */
  audienceId: z.string().optional(),
  /**
   * The configured team the file belongs to and its sandbox: part of the registry key (naming.ts). Absent for
   * a file that takes the stack's settings, whose key is the name alone, as before teams existed.
   */
  team: z.string().optional(),
  sandbox: z.string().optional(),
  /**
   * Keep the audience alive (extend-ttl before it expires): the manifest's `keepAlive` (or a team's setting).
   * Absent: whatever the registry already says, off for a new audience.
   */
  keepAlive: z.boolean().optional(),
});
export type AudiencePlan = z.infer<typeof audiencePlanSchema>;

export const validationResultSchema = z.object({
  valid: z.boolean(),
  rows: z.number().int().nonnegative(),
  validRows: z.number().int().nonnegative(),
  invalidRows: z.number().int().nonnegative(),
  invalidByCode: z.record(z.string(), z.number().int()),
  identities: z.record(z.string(), z.number().int()),
  fields: z.array(fieldSchema),
  /** Present when `valid` is false: the pipeline code and a readable message. */
  failure: z
    .object({
      code: z.enum([
        'VALIDATION_FAILED',
        'MANIFEST_INVALID',
        'MANIFEST_MISSING',
        'TEAM_UNKNOWN',
        'CONFIG_INVALID',
      ]),
      message: z.string(),
    })
    .optional(),
  /** The canonical copy AEP ingests, present when `valid`. `lastModified` in epoch seconds. */
  staged: z.object({ key: z.string(), lastModified: z.number().int() }).optional(),
  audience: audiencePlanSchema.optional(),
  destinations: z.array(destinationSchema),
  manifestKey: z.string().optional(),
  reports: z.object({ validation: z.string(), rejects: z.string().optional() }),
});
export type ValidationResult = z.infer<typeof validationResultSchema>;

export const audienceStateSchema = z.object({
  status: z.enum(['CREATING', 'READY']),
  audienceId: z.string().optional(),
  operationId: z.string().optional(),
  name: z.string(),
  /**
   * The registry item of this audience. It differs from `$.validation.audience.registryKey` when the name has
   * rolled over to a later generation (`<name> #2`); absent in states written before generations existed.
   */
  registryKey: z.string().optional(),
  /**
   * The generations this audience replaces, the one it rolled over from first: ActivateDestinations swaps them
   * out of the dataflows.
   */
  replaces: z
    .array(z.object({ registryKey: z.string(), audienceId: z.string(), name: z.string() }))
    .optional(),
  /** True when this file refreshed an existing audience instead of creating one. */
  refreshed: z.boolean(),
  poll: pollSchema,
});
export type AudienceState = z.infer<typeof audienceStateSchema>;

/** The generation a rolled-over audience took the place of (the nearest of those it replaces), else null. */
export function replacedOf(
  replaces: readonly { audienceId: string; name: string }[] | undefined,
): { audienceId: string; name: string } | null {
  const nearest = replaces?.[0];
  return nearest ? { audienceId: nearest.audienceId, name: nearest.name } : null;
}

/** The registry item an audience state belongs to (see `registryKey` above). */
export function audienceRegistryKey(audience: AudienceState, plan: AudiencePlan): string {
  return audience.registryKey ?? plan.registryKey;
}

export const ingestionStateSchema = z.object({
  /** WAITING: no run started yet; the audience's other run or the day's run budget is waited for. */
  status: z.enum(['WAITING', 'PROCESSING', 'SUCCESS']),
  /** Present once a run started (PROCESSING, SUCCESS). */
  runId: z.string().optional(),
  /** WAITING only: what is waited for, for the console. */
  waitingFor: z.string().optional(),
  dataFilterStartTime: z.number().int(),
  dataFilterEndTime: z.number().int(),
  poll: pollSchema,
  details: z.array(z.object({ stage: z.string(), status: z.string() })).optional(),
});
export type IngestionState = z.infer<typeof ingestionStateSchema>;

export const activationStateSchema = z.object({
  destinations: z.array(
    z.object({
      flowId: z.string(),
      kind: z.enum(['streaming', 'batch']),
      /**
       * ADDED / ALREADY_PRESENT: the audience is in the dataflow. REPLACED: it took the place of the generation
       * it replaces. NOT_PRESENT: a dataflow only the replaced generation was added to, which no longer selects
       * it (someone removed it): nothing is carried over. SUPERSEDED: a later generation of this audience exists,
       * so this one is not added anywhere.
       */
      status: z.enum(['ADDED', 'ALREADY_PRESENT', 'REPLACED', 'NOT_PRESENT', 'SUPERSEDED']),
    }),
  ),
});
export type ActivationState = z.infer<typeof activationStateSchema>;

export const resultStateSchema = z.object({
  archivedKey: z.string(),
  resultKey: z.string(),
});

export const errorStateSchema = z.object({ Error: z.string(), Cause: z.unknown().optional() });

export const failureStateSchema = z.object({
  code: z.string(),
  message: z.string(),
  failedKey: z.string().optional(),
  errorReportKey: z.string(),
});
export type FailureState = z.infer<typeof failureStateSchema>;

/** The whole document; later parts are absent until their task ran. */
export const pipelineStateSchema = z.object({
  file: fileRefSchema,
  validation: validationResultSchema.optional(),
  error: errorStateSchema.optional(),
  audience: audienceStateSchema.optional(),
  ingestion: ingestionStateSchema.optional(),
  activation: activationStateSchema.optional(),
  result: resultStateSchema.optional(),
  failure: failureStateSchema.optional(),
});
export type PipelineState = z.infer<typeof pipelineStateSchema>;

export const taskEventSchema = z.object({
  executionName: z.string().min(1),
  /** `$$.Execution.Id`: for the console link of outcome notifications. */
  executionArn: z.string().min(1).optional(),
  state: pipelineStateSchema,
});
export type TaskEvent = z.infer<typeof taskEventSchema>;
