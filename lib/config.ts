// The stack's configuration: cdk.json context `pipeline`, validated once in bin/ so a typo fails the synth.
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import * as z from 'zod';
import { batchExportProblems } from '../functions/shared/aep/batch-export.ts';
import { destinationSchema } from '../functions/shared/state.ts';
import { DEFAULT_LARGE_FILE_THRESHOLD_BYTES, sizeLimitProblems } from './validation-model.ts';

/** The day counts CloudWatch Logs accepts (CDK's RetentionDays enum values). */
const LOG_RETENTION_DAYS: readonly number[] = Object.values(RetentionDays).filter(
  (value): value is number => typeof value === 'number',
);

const days = z.number().int().positive();

/**
 * Audience upkeep (docs/operations.md#audience-upkeep): its own block, spread into the schema below, so that
 * other settings can grow beside it without touching it.
 */
export const upkeepConfigShape = {
  /** KeepAlive extends a kept-alive audience's TTL once it expires within this many days. */
  keepAliveDaysBeforeExpiry: z.number().int().min(1).max(89).default(7),
  /** An audience not kept alive that expires within this many days gets one notice on the outcome topic. */
  expiryWarningDays: z.number().int().min(1).max(89).default(7),
};

const bucketNameSchema = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name');

/**
 * One team's settings (`pipeline.teams.<team>`), used over the stack's for the files under `incoming/<team>/`.
 * `sandboxName` and `baseConnectionId` are the team's AEP sandbox and the S3 base connection in it (a base
 * connection belongs to one sandbox); `secretArn` names another credentials secret (another organization).
 */
export const teamSettingsSchema = z
  .object({
    sandboxName: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'an AEP sandbox name'),
    baseConnectionId: z.string().min(1),
    secretArn: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/,
        'the complete ARN of an existing secret, with the six characters Secrets Manager appends to its name',
      )
      .optional(),
    defaultDestinations: z.array(destinationSchema).optional(),
    defaultTtlInDays: z.number().int().min(1).max(90).optional(),
    requireManifest: z.boolean().optional(),
    onAudienceRunLimit: z.enum(['fail', 'rollover']).optional(),
    identityNamespaces: z
      .record(
        z.string().regex(/^[a-z0-9]+$/, 'a normalized header: lower case, no spaces, _ or -'),
        z.string().min(1),
      )
      .optional(),
    keepAlive: z.boolean().optional(),
    /** Stage SHA-256 digests of the team's e-mails and phones (a manifest's `hashIdentities` wins). */
    hashIdentities: z.boolean().optional(),
    /** Where the team's outcome notifications go: an existing SNS topic, or e-mails subscribed to its own one. */
    notifications: z
      .object({
        topicArn: z
          .string()
          .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, 'an SNS topic ARN')
          .optional(),
        emails: z.array(z.email()).min(1).optional(),
      })
      .strict()
      .refine((n) => (n.topicArn === undefined) !== (n.emails === undefined), {
        message:
          'set exactly one of topicArn (an existing topic) and emails (the stack creates a topic for the team)',
      })
      .optional(),
  })
  .strict();
export type TeamSettings = z.infer<typeof teamSettingsSchema>;

/** A team is the first folder under incoming/: a name S3 keys, metric dimensions and construct ids all take. */
const TEAM_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export const pipelineConfigSchema = z
  .object({
    stackName: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'a CloudFormation stack name: letters, digits and hyphens')
      .default('AepAudiencePipeline'),
    /** Name of the Secrets Manager secret the stack creates. */
    secretName: z.string().min(1).optional(),
    /**
     * Complete ARN of an existing secret to use instead of creating one: the secret an earlier deployment left
     * (it is retained on `cdk destroy`, and a second one of the same name cannot be created).
     */
    secretArn: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/,
        'the complete ARN of an existing secret, with the six characters Secrets Manager appends to its name ' +
          '(arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf; `aws secretsmanager describe-secret ' +
          '--secret-id <name>` prints it)',
      )
      .optional(),
    /**
     * Name of an existing registry table to use instead of creating one: the table an earlier deployment left
     * (retained on `cdk destroy`), so that the audiences it knows are refreshed rather than created again.
     */
    registryTableName: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{3,255}$/, 'a DynamoDB table name: 3 to 255 letters, digits, _ . or -')
      .optional(),
    defaultDestinations: z.array(destinationSchema).default([]),
    defaultTtlInDays: z.number().int().min(1).max(90).default(30),
    /** Name of the drop bucket the stack creates (default: one CloudFormation generates). */
    bucketName: bucketNameSchema.optional(),
    /**
     * Name of an existing drop bucket to use instead of creating one: the bucket an earlier deployment left
     * (retained on `cdk destroy`). Its lifecycle rules, versioning and EventBridge setting stay as they are;
     * the stack puts back its bucket policy.
     */
    existingBucketName: bucketNameSchema.optional(),
    /**
     * With `existingBucketName`: the existing bucket it writes its server access logs to (the access-log bucket
     * the earlier deployment left), whose bucket policy the stack puts back so that S3 can deliver the logs.
     */
    existingAccessLogsBucketName: bucketNameSchema.optional(),
    /** Days the drop bucket's server access logs are kept in the access-log bucket the stack creates. */
    accessLogsRetentionDays: days.default(90),
    sourcePathIncludesBucket: z.boolean().default(true),
    requireManifest: z.boolean().default(false),
    identityNamespaces: z
      .record(
        z.string().regex(/^[a-z0-9]+$/, 'a normalized header: lower case, no spaces, _ or -'),
        z.string().min(1),
      )
      .default({ crmid: 'CRMID' }),
    /** Larger files (CSV bytes, decompressed) are refused; synth refuses one the model cannot validate in time. */
    maxFileSizeBytes: z
      .number()
      .int()
      .positive()
      .default(10 * 1024 ** 3),
    /**
     * Files whose CSV data is larger go to ValidateLargeFile (every vCPU of a 10,240 MB function, byte ranges
     * on worker threads); smaller ones to the small ValidateFile (1,024 MB, one pass), cheaper per file at any
     * size. The default is the largest power of two the small function validates within a minute, by the
     * validation model (lib/validation-model.ts, DEFAULT_LARGE_FILE_THRESHOLD_BYTES).
     */
    largeFileThresholdBytes: z.number().int().positive().default(DEFAULT_LARGE_FILE_THRESHOLD_BYTES),
    /** At least the longest TTL an audience can be extended to, plus margin: AEP re-reads the staged copy. */
    stagingRetentionDays: days.min(120).default(120),
    reportsRetentionDays: days.default(90),
    processedRetentionDays: days.default(30),
    failedRetentionDays: days.default(90),
    noncurrentVersionRetentionDays: days.default(7),
    /** Ingestion runs the pipeline starts per sandbox and UTC day; AEP's guardrail is 100. */
    dailyRunBudget: z.number().int().min(1).max(100).default(100),
    /** When the day's budget is spent: wait for the next UTC day, or fail with AEP_DAILY_RUN_LIMIT. */
    onDailyRunLimit: z.enum(['wait', 'fail']).default('wait'),
    /**
     * When an audience has had AEP's 10 ingestion runs: fail with AEP_AUDIENCE_RUN_LIMIT, or roll over to the
     * name's next generation (`<name> #2`), swapped for the old one in its dataflows.
     */
    onAudienceRunLimit: z.enum(['fail', 'rollover']).default('fail'),
    logRetentionDays: z
      .number()
      .int()
      .refine((value) => LOG_RETENTION_DAYS.includes(value), {
        message: `one of ${LOG_RETENTION_DAYS.join(', ')}`,
      })
      .default(30),
    /** Where the alarms are e-mailed; without it the alarm topic has no subscription (subscribe as you like). */
    alarmEmail: z.email().optional(),
    /** CloudWatch namespace of the functions' metrics (EMF) and of the dashboard's custom graphs. */
    metricsNamespace: z
      .string()
      .regex(/^[A-Za-z0-9._/#:-]{1,255}$/, 'a CloudWatch namespace: letters, digits and . _ / # : -')
      .refine((value) => !value.startsWith('AWS/'), { message: 'must not start with AWS/ (reserved)' })
      .default('AepAudiencePipeline'),
    /** Settings by team, the first folder under incoming/ (`incoming/<team>/…`), used over the stack's. */
    teams: z.record(z.string(), teamSettingsSchema).default({}),
    /** What a file outside every configured team gets: the stack's settings, or TEAM_UNKNOWN. */
    unknownTeams: z.enum(['defaults', 'reject']).default('defaults'),
    ...upkeepConfigShape,
  })
  .strict()
  .superRefine((config, ctx) => {
    // A file the stack accepts must be one its validation can finish: Lambda's timeout is not caught, and a
    // redrive would time out again.
    for (const problem of sizeLimitProblems(config)) {
      ctx.addIssue({ code: 'custom', path: [problem.key], message: problem.message });
    }
    if ((config.secretName === undefined) === (config.secretArn === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['secretName'],
        message:
          'set exactly one of secretName (the stack creates the secret) and secretArn (an existing secret, ' +
          'such as the one an earlier deployment left)',
      });
    }
    if (config.bucketName !== undefined && config.existingBucketName !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['existingBucketName'],
        message:
          'set at most one of bucketName (the stack creates a bucket of that name) and existingBucketName ' +
          '(the stack uses that existing bucket)',
      });
    }
    if (config.existingAccessLogsBucketName !== undefined && config.existingBucketName === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['existingAccessLogsBucketName'],
        message:
          'names the access-log bucket of an existing drop bucket: set existingBucketName too (a created drop ' +
          'bucket gets its own access-log bucket)',
      });
    } else if (
      config.existingAccessLogsBucketName !== undefined &&
      config.existingAccessLogsBucketName === config.existingBucketName
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['existingAccessLogsBucketName'],
        message:
          'must be another bucket than existingBucketName: a bucket that logs into itself logs forever',
      });
    }
    // The rules ValidateFile applies to a manifest's destinations: a default AEP would refuse fails the synth,
    // not every file's activation after its ingestion run is spent.
    config.defaultDestinations.forEach((destination, index) => {
      const at = (...path: (string | number)[]) => ['defaultDestinations', index, ...path];
      const name = `destination ${destination.flowId}`;
      if (destination.kind === 'streaming') {
        if (destination.batch) {
          ctx.addIssue({
            code: 'custom',
            path: at('batch'),
            message: `${name}: a streaming destination takes no batch export settings`,
          });
        }
        return;
      }
      if (!destination.batch) {
        ctx.addIssue({
          code: 'custom',
          path: at('batch'),
          message: `${name}: a batch destination needs its export settings (exportMode, schedule, filenameTemplate)`,
        });
        return;
      }
      for (const problem of batchExportProblems(destination.batch)) {
        ctx.addIssue({
          code: 'custom',
          path: at('batch', ...problem.path),
          message: `${name} (${destination.batch.exportMode}): ${problem.rule}`,
        });
      }
    });
  })
  .superRefine((config, ctx) => {
    // A team's default destinations meet the same rules as the stack's (checked in the refinement above).
    for (const [team, settings] of Object.entries(config.teams)) {
      if (!TEAM_NAME.test(team)) {
        ctx.addIssue({
          code: 'custom',
          path: ['teams', team],
          message:
            'a team name is the first folder under incoming/: letters, digits, _ . or -, starting with a letter or digit, at most 64',
        });
      }
      settings.defaultDestinations?.forEach((destination, index) => {
        const at = ['teams', team, 'defaultDestinations', index, 'batch'];
        const name = `destination ${destination.flowId}`;
        if (destination.kind === 'streaming' || !destination.batch) {
          if ((destination.kind === 'streaming') !== !destination.batch) {
            ctx.addIssue({
              code: 'custom',
              path: at,
              message:
                destination.kind === 'streaming'
                  ? `${name}: a streaming destination takes no batch export settings`
                  : `${name}: a batch destination needs its export settings (exportMode, schedule, filenameTemplate)`,
            });
          }
          return;
        }
        for (const problem of batchExportProblems(destination.batch)) {
          ctx.addIssue({
            code: 'custom',
            path: [...at, ...problem.path],
            message: `${name} (${destination.batch.exportMode}): ${problem.rule}`,
          });
        }
      });
    }
  });

export type PipelineConfig = z.infer<typeof pipelineConfigSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses the `pipeline` context; the error names the first bad key as `pipeline.<path>`. */
export function loadPipelineConfig(raw: unknown): PipelineConfig {
  if (raw === undefined || raw === null) {
    throw new ConfigError('cdk.json context "pipeline" is missing');
  }
  const parsed = pipelineConfigSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const messages = parsed.error.issues.flatMap((issue) => {
    const keyPath = ['pipeline', ...issue.path.map(String)].join('.');
    // An unknown key is reported at its parent: name the key itself, which is what the operator mistyped.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => `cdk.json context "${keyPath}.${key}": unknown key`);
    }
    return [`cdk.json context "${keyPath}": ${issue.message}`];
  });
  throw new ConfigError(messages.join('\n'));
}
