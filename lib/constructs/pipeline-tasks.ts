// The functions the state machine's Tasks invoke, each with only the settings and permissions its step needs.
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { PipelineConfig } from '../config.ts';
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

const OBJECT_READ = ['s3:GetObject', 's3:GetObjectVersion'];
/** PutObject covers create/upload-part/complete of a multipart upload; aborting one is its own action. */
const OBJECT_WRITE = ['s3:PutObject', 's3:AbortMultipartUpload'];
/** A copy carries the source's tags along, which reads them from the source and writes them to the target. */
const COPY_SOURCE = [...OBJECT_READ, 's3:GetObjectTagging', 's3:GetObjectVersionTagging'];
const COPY_TARGET = [...OBJECT_WRITE, 's3:PutObjectTagging'];

export class PipelineTasks extends Construct {
  readonly validateFile: TaskFunction;
  readonly aep: Record<AepTaskName, TaskFunction>;
  readonly archiveFile: TaskFunction;
  readonly handleFailure: TaskFunction;

  constructor(scope: Construct, id: string, props: PipelineTasksProps) {
    super(scope, id);
    const { bucket, config, logRetention } = props;
    const base = { logRetention, environment: { BUCKET_NAME: bucket.bucketName } };

    this.validateFile = new TaskFunction(this, 'ValidateFile', {
      ...base,
      name: 'validate-file',
      description: 'Validates an uploaded CSV in one streamed pass and stages its canonical copy',
      memorySize: 1024,
      timeout: Duration.minutes(15),
      environment: {
        ...base.environment,
        DEFAULT_DESTINATIONS: JSON.stringify(config.defaultDestinations),
        DEFAULT_TTL_DAYS: String(config.defaultTtlInDays),
        SOURCE_PATH_INCLUDES_BUCKET: String(config.sourcePathIncludesBucket),
        REQUIRE_MANIFEST: String(config.requireManifest),
        IDENTITY_NAMESPACES: JSON.stringify(config.identityNamespaces),
        MAX_FILE_SIZE_BYTES: String(config.maxFileSizeBytes),
      },
    });
    allowUnder(
      this.validateFile,
      OBJECT_READ,
      bucket,
      'incoming/',
      'reads any uploaded CSV and its manifest',
    );
    allowUnder(
      this.validateFile,
      [...OBJECT_WRITE, 's3:GetObject'],
      bucket,
      'staging/',
      'writes the canonical copy of any file, then heads it for its LastModified',
    );
    allowUnder(this.validateFile, OBJECT_WRITE, bucket, 'reports/', 'writes the reports of any execution');
    allowHeadNotFound(this.validateFile, bucket);

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
      ['s3:DeleteObject'],
      bucket,
      'reports/',
      "removes the error.json of a redriven execution's failed attempt",
    );

    this.handleFailure = new TaskFunction(this, 'HandleFailure', {
      ...base,
      name: 'handle-failure',
      description: 'Moves a rejected original to failed/ and writes error.json',
      timeout: Duration.minutes(5),
    });
    allowMove(this.handleFailure, bucket, 'failed/');
  }
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

/** Without ListBucket, S3 answers 403 instead of 404 for a missing key (a manifest that was not uploaded). */
export function allowHeadNotFound(task: TaskFunction, bucket: s3.IBucket): void {
  allow(task, ['s3:ListBucket'], bucket.bucketArn);
}

/** Copy the original from incoming/ to `target`, delete it there, and write its report. */
function allowMove(task: TaskFunction, bucket: s3.IBucket, target: string): void {
  allowUnder(
    task,
    [...COPY_SOURCE, 's3:DeleteObject'],
    bucket,
    'incoming/',
    'moves the original out of incoming/',
  );
  allowUnder(task, COPY_TARGET, bucket, target, `keeps the original under ${target}`);
  allowUnder(
    task,
    [...OBJECT_WRITE, 's3:GetObject'],
    bucket,
    'reports/',
    "reads and writes the execution's reports",
  );
  allowHeadNotFound(task, bucket);
}
