// The functions the state machine's Tasks invoke, each with only the settings and permissions its step needs.
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { TEAMS_ENV, UNKNOWN_TEAMS_ENV } from '../../functions/shared/teams.ts';
import type { PipelineConfig, TeamSettings } from '../config.ts';
import { acknowledgeWildcardResource } from '../nag.ts';
import type { AepCredentials } from './aep-credentials.ts';
import type { AudienceRegistry } from './audience-registry.ts';
import { TaskFunction } from './task-function.ts';

export interface PipelineTasksProps {
  bucket: s3.IBucket;
  registry: AudienceRegistry;
  credentials: AepCredentials;
  config: PipelineConfig;
  logRetention: logs.RetentionDays;
}

/** Functions that call AEP: they read the credentials secret and the audience registry. */
export const AEP_TASK_NAMES = [
  'create-audience',
  'check-audience',
  'start-ingestion',
  'check-ingestion',
  'activate-destinations',
] as const;
export type AepTaskName = (typeof AEP_TASK_NAMES)[number];

// What each S3 call needs, from AWS's pages: HeadObject and GetObject need s3:GetObject, s3:GetObjectVersion
// with a VersionId, and S3 answers a missing key with 404 only to a caller that also has s3:ListBucket, with
// 403 AccessDenied to any other (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html,
// API_GetObject.html, "Permissions"): hence existence checks list rather than HEAD (objectExists);
// ListObjectsV2 needs s3:ListBucket on the bucket, which the s3:prefix condition key narrows
// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html,
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html); CopyObject and
// UploadPartCopy read the source (s3:GetObject, s3:GetObjectVersion for a CopySource naming a version) and
// s3:PutObject the target (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html,
// API_UploadPartCopy.html, and the CopyObject row of
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html); DeleteObject needs
// s3:DeleteObject, s3:DeleteObjectVersion only with a VersionId, which no function sends
// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html).

/** HEAD/GET of the current object (s3:GetObject) and of the version an event names (s3:GetObjectVersion). */
const OBJECT_READ = ['s3:GetObject', 's3:GetObjectVersion'];
/**
 * A streamed upload (lib-storage): PutObject covers create/upload-part/complete of a multipart upload;
 * aborting one, which a discarded stream does, is its own action.
 */
const STREAMED_WRITE = ['s3:PutObject', 's3:AbortMultipartUpload'];
/**
 * The source of a copy. CopyObject's default tagging directive is COPY (API_CopyObject.html,
 * x-amz-tagging-directive): the source's tags come along, which S3 authorizes as s3:GetObjectTagging on the
 * source (s3:GetObjectVersionTagging for a versioned CopySource) and s3:PutObjectTagging on the target (the
 * CopyObject row of list_amazons3.html names s3:PutObjectTagging; AWS's knowledge-center article
 * s3-troubleshoot-copy-between-buckets both). An untagged upload needs neither, a tagged one fails to move
 * with AccessDenied without them. UploadPartCopy copies bytes only, so above 5 GB tags are not carried.
 */
const COPY_SOURCE = [...OBJECT_READ, 's3:GetObjectTagging', 's3:GetObjectVersionTagging'];
/** The target of a copy: CopyObject, or create/part-copy/complete/abort above 5 GB, and the copied tags. */
const COPY_TARGET = [...STREAMED_WRITE, 's3:PutObjectTagging'];

export class PipelineTasks extends Construct {
  readonly validateFile: TaskFunction;
  readonly validateLargeFile: TaskFunction;
  readonly aep: Record<AepTaskName, TaskFunction>;
  readonly archiveFile: TaskFunction;
  readonly handleFailure: TaskFunction;

  constructor(scope: Construct, id: string, props: PipelineTasksProps) {
    super(scope, id);
    const { bucket, config, logRetention } = props;
    const base = { logRetention, environment: { BUCKET_NAME: bucket.bucketName } };

    const hasTeams = Object.keys(config.teams).length > 0;
    const validationEnvironment = {
      ...base.environment,
      ...teamsEnvironment(config, (team) => ({
        sandboxName: team.sandboxName,
        defaultDestinations: team.defaultDestinations,
        defaultTtlInDays: team.defaultTtlInDays,
        requireManifest: team.requireManifest,
        identityNamespaces: team.identityNamespaces,
        hashIdentities: team.hashIdentities,
      })),
      // A team's first upload of an audience it had before teams existed finds that item (plannedKey).
      ...(hasTeams ? { REGISTRY_TABLE_NAME: props.registry.tableName } : {}),
      DEFAULT_DESTINATIONS: JSON.stringify(config.defaultDestinations),
      DEFAULT_TTL_DAYS: String(config.defaultTtlInDays),
      SOURCE_PATH_INCLUDES_BUCKET: String(config.sourcePathIncludesBucket),
      REQUIRE_MANIFEST: String(config.requireManifest),
      IDENTITY_NAMESPACES: JSON.stringify(config.identityNamespaces),
      MAX_FILE_SIZE_BYTES: String(config.maxFileSizeBytes),
    };
    this.validateFile = new TaskFunction(this, 'ValidateFile', {
      ...base,
      name: 'validate-file',
      description: 'Validates an uploaded CSV in one streamed pass and stages its canonical copy',
      // About 0.58 vCPU: one pass in one thread, for files up to largeFileThresholdBytes.
      memorySize: 1024,
      timeout: Duration.minutes(15),
      environment: { ...validationEnvironment, VALIDATION_WORKERS: '1' },
    });
    // The same code with every vCPU Lambda gives (6 at 10,240 MB): byte ranges parsed on worker threads,
    // read by ranged GETs. Billed by the GB-second, it only runs for the files that need it.
    this.validateLargeFile = new TaskFunction(this, 'ValidateLargeFile', {
      ...base,
      name: 'validate-large-file',
      description: 'Validates a large CSV by byte ranges on every vCPU and stages its canonical copy',
      memorySize: 10_240,
      timeout: Duration.minutes(15),
      environment: validationEnvironment,
    });
    for (const validation of [this.validateFile, this.validateLargeFile]) {
      allowUnder(
        validation,
        OBJECT_READ,
        bucket,
        'incoming/',
        'reads an uploaded CSV (the version its event names) and its manifest',
      );
      allowUnder(
        validation,
        // The copy is written with its retention tag (x-amz-tagging), which S3 authorizes as s3:PutObjectTagging.
        [...STREAMED_WRITE, 's3:PutObjectTagging', 's3:GetObject'],
        bucket,
        'staging/',
        'streams the canonical copy of any file with its retention tag, then heads it for its LastModified',
      );
      allowUnder(
        validation,
        STREAMED_WRITE,
        bucket,
        'reports/',
        'writes validation.json and streams rejects.csv of any execution',
      );
      // Whether a manifest came with the file (most do not), and whether an unversioned original is still there.
      allowListUnder(validation, bucket, ['incoming/']);
      if (hasTeams) props.registry.grantGetItem(validation.function);
    }

    const aepDescriptions: Record<AepTaskName, string> = {
      'create-audience': 'Creates the AEP external audience, or finds the one this file refreshes',
      'check-audience': 'Polls the audience creation operation',
      'start-ingestion': 'Starts an ingestion run of the staged file',
      'check-ingestion': 'Polls the ingestion run',
      'activate-destinations': 'Adds the audience to its destination dataflows',
    };
    const aepIds: Record<AepTaskName, string> = {
      'create-audience': 'CreateAudience',
      'check-audience': 'CheckAudience',
      'start-ingestion': 'StartIngestion',
      'check-ingestion': 'CheckIngestion',
      'activate-destinations': 'ActivateDestinations',
    };
    const aep = {} as Record<AepTaskName, TaskFunction>;
    for (const name of AEP_TASK_NAMES) {
      const task = new TaskFunction(this, aepIds[name], {
        ...base,
        name,
        description: aepDescriptions[name],
        environment: {
          ...base.environment,
          AEP_SECRET_ARN: props.credentials.secretArn,
          REGISTRY_TABLE_NAME: props.registry.tableName,
          DAILY_RUN_BUDGET: String(config.dailyRunBudget),
          ON_DAILY_RUN_LIMIT: config.onDailyRunLimit,
          ON_AUDIENCE_RUN_LIMIT: config.onAudienceRunLimit,
          ...teamsEnvironment(config, (team) => ({
            sandboxName: team.sandboxName,
            baseConnectionId: team.baseConnectionId,
            secretArn: team.secretArn,
            onAudienceRunLimit: team.onAudienceRunLimit,
            keepAlive: team.keepAlive,
          })),
        },
      });
      props.credentials.grantRead(task.function);
      props.registry.grantReadWriteData(task.function);
      aep[name] = task;
    }
    this.aep = aep;

    this.archiveFile = new TaskFunction(this, 'ArchiveFile', {
      ...base,
      name: 'archive-file',
      description: 'Moves the original to processed/ and writes result.json',
      memorySize: 1024,
      timeout: Duration.minutes(15),
    });
    allowMove(this.archiveFile, bucket, 'processed/');
    allowUnder(
      this.archiveFile,
      ['s3:PutObject', 's3:DeleteObject'],
      bucket,
      'reports/',
      "writes result.json and removes the error.json of a redriven execution's failed attempt",
    );

    this.handleFailure = new TaskFunction(this, 'HandleFailure', {
      ...base,
      name: 'handle-failure',
      description: 'Moves a rejected original to failed/ and writes error.json',
      timeout: Duration.minutes(5),
    });
    allowMove(this.handleFailure, bucket, 'failed/');
    allowUnder(
      this.handleFailure,
      ['s3:PutObject'],
      bucket,
      'reports/',
      'writes the error.json of any execution',
    );
  }
}

/**
 * PIPELINE_TEAMS (each team's settings that a function uses, nothing else) and UNKNOWN_TEAMS; none for a stack
 * without teams, whose functions then behave as before teams existed.
 */
export function teamsEnvironment(
  config: Pick<PipelineConfig, 'teams' | 'unknownTeams'>,
  pick: (team: TeamSettings) => Record<string, unknown>,
): Record<string, string> {
  if (Object.keys(config.teams).length === 0 && config.unknownTeams === 'defaults') return {};
  return { [TEAMS_ENV]: JSON.stringify(teamSlices(config, pick)), [UNKNOWN_TEAMS_ENV]: config.unknownTeams };
}

/** Each team's settings that a function uses, without the unset ones. */
export function teamSlices(
  config: Pick<PipelineConfig, 'teams'>,
  pick: (team: TeamSettings) => Record<string, unknown>,
): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    Object.entries(config.teams).map(([name, team]) => [
      name,
      Object.fromEntries(Object.entries(pick(team)).filter(([, value]) => value !== undefined)),
    ]),
  );
}

function allow(task: TaskFunction, actions: string[], ...resources: string[]): void {
  task.function.addToRolePolicy(new iam.PolicyStatement({ actions, resources }));
}

/** Object actions under one prefix of the bucket: the keys are per file, so the prefix is the narrowest scope. */
export function allowUnder(
  task: TaskFunction,
  actions: string[],
  bucket: s3.IBucket,
  prefix: string,
  why: string,
) {
  const objects = bucket.arnForObjects(`${prefix}*`);
  allow(task, actions, objects);
  acknowledgeWildcardResource(task, objects, `${task.name} ${why}: object keys are only known at run time`);
}

/**
 * ListBucket on the bucket, only for listings whose prefix starts with one of `prefixes`: the existence checks
 * (`objectExists`), which list exactly one key and read nothing, and the listing of a folder drop's
 * `incoming/<path>/<name>.parts/` folder. A request without a prefix, or under another one, is refused.
 */
export function allowListUnder(task: TaskFunction, bucket: s3.IBucket, prefixes: string[]): void {
  task.function.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': prefixes.map((prefix) => `${prefix}*`) } },
    }),
  );
}

/**
 * Move the original (and its manifest) from incoming/ to `target`: list both keys, head and copy the source
 * that is there, delete it in incoming/. A folder drop's original is every object of its `.parts/` folder:
 * the folder is listed (under incoming/), each object copied and deleted, with the same grants.
 */
function allowMove(task: TaskFunction, bucket: s3.IBucket, target: string): void {
  allowUnder(
    task,
    [...COPY_SOURCE, 's3:DeleteObject'],
    bucket,
    'incoming/',
    'moves the original out of incoming/',
  );
  allowUnder(task, COPY_TARGET, bucket, target, `keeps the original under ${target}`);
  // The source may be gone (a retried task, a file without manifest) and the target is not readable.
  allowListUnder(task, bucket, ['incoming/', target]);
}
