// The synthesized pipeline stack: security settings, triggers, permissions and the state machine definition.
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CAUGHT_ERROR_CODES,
  LAMBDA_SERVICE_ERRORS,
  RETRYABLE_ERROR_CODES,
} from '../../functions/shared/pipeline-errors.ts';
import { buildApp } from '../../lib/app-factory.ts';
import { FUNCTION_NAMES } from '../../lib/constructs/task-function.ts';
import {
  asArray,
  functionsAllowed,
  functionsByLogicalId,
  type Json,
  logicalIdOfType,
  policyStatements,
  stateMachineDefinition,
} from './template-helpers.ts';

const AEP_FUNCTIONS = [
  'activate-destinations',
  'check-audience',
  'check-ingestion',
  'create-audience',
  'start-ingestion',
];
/** The upkeep functions: they call AEP too, so read the secret and the registry (no PutItem, no DeleteItem). */
const UPKEEP_FUNCTIONS = ['delete-audience', 'keep-alive'];
const ALL_AEP_FUNCTIONS = [...AEP_FUNCTIONS, ...UPKEEP_FUNCTIONS].sort();

let app: App;
let template: Template;
let json: Json;
let bucketId: string;
let definition: Json;
let fnByState: Record<string, string>;

beforeAll(() => {
  const built = buildApp({ skipBundling: true });
  app = built.app;
  // Synthesizes with the AwsSolutions checks registered: an unacknowledged finding throws here.
  template = Template.fromStack(built.stack);
  json = template.toJSON();
  bucketId = logicalIdOfType(json, 'AWS::S3::Bucket', /^DropBucket[0-9A-F]{8}$/);
  definition = stateMachineDefinition(json);
  const byId = functionsByLogicalId(json);
  fnByState = {};
  for (const [name, state] of Object.entries<Json>(definition.States)) {
    if (state.Type !== 'Task') continue;
    const logicalId = /^<(.+)\.Arn>$/.exec(state.Resource)?.[1];
    fnByState[name] = logicalId
      ? (byId[logicalId] ?? `unknown ${logicalId}`)
      : `not a function ARN: ${state.Resource}`;
  }
});

describe('drop bucket', () => {
  it('is encrypted, versioned, private, sends events to EventBridge, logs access, and is retained', () => {
    template.hasResource('AWS::S3::Bucket', {
      Properties: Match.objectLike({
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        VersioningConfiguration: { Status: 'Enabled' },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
        LoggingConfiguration: {
          DestinationBucketName: { Ref: logicalIdOfType(json, 'AWS::S3::Bucket', /AccessLogs/) },
          LogFilePrefix: 'drop-bucket/',
        },
      }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    expect(json.Resources[bucketId].Properties.LoggingConfiguration).toBeDefined();
  });

  it('expires personal data per configuration and cleans old versions and failed uploads', () => {
    const rules: Json[] = json.Resources[bucketId].Properties.LifecycleConfiguration.Rules;
    const byPrefix = Object.fromEntries(
      rules.filter((r) => r.Prefix).map((r) => [r.Prefix, r.ExpirationInDays]),
    );
    expect(byPrefix).toEqual({ 'staging/': 120, 'reports/': 90, 'processed/': 30, 'failed/': 90 });
    expect(rules).toContainEqual(
      expect.objectContaining({
        NoncurrentVersionExpiration: { NoncurrentDays: 7 },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
        Status: 'Enabled',
      }),
    );
  });

  it('refuses plain-HTTP requests, and so does its access-log bucket', () => {
    for (const id of [bucketId, logicalIdOfType(json, 'AWS::S3::Bucket', /AccessLogs/)]) {
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: id },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
    template.hasResource('AWS::S3::Bucket', {
      Properties: Match.objectLike({ BucketEncryption: Match.anyValue() }),
      DeletionPolicy: 'Retain',
    });
  });

  it('expires its access logs and their failed uploads, after 90 days by default', () => {
    const logsId = logicalIdOfType(json, 'AWS::S3::Bucket', /AccessLogs/);
    expect(json.Resources[logsId].Properties.LifecycleConfiguration.Rules).toEqual([
      {
        Id: 'expire-access-logs',
        ExpirationInDays: 90,
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
        Status: 'Enabled',
      },
    ]);
  });

  it('needs no custom resource to turn EventBridge on', () => {
    template.resourceCountIs('Custom::S3BucketNotifications', 0);
  });
});

describe('trigger', () => {
  it('matches Object Created under incoming/ of this bucket only', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: { bucket: { name: [{ Ref: bucketId }] }, object: { key: [{ prefix: 'incoming/' }] } },
      },
      State: 'ENABLED',
    });
  });

  it('delivers to start-pipeline with retries, a maximum age and a dead-letter queue', () => {
    const rule = Object.values<Json>(json.Resources).find(
      (r) => r.Properties?.EventPattern?.source?.[0] === 'aws.s3',
    );
    const [target] = rule.Properties.Targets;
    expect(functionsByLogicalId(json)[target.Arn['Fn::GetAtt'][0]]).toBe('start-pipeline');
    expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 });
    const dlqId = target.DeadLetterConfig.Arn['Fn::GetAtt'][0];
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    expect(json.Resources[dlqId].Type).toBe('AWS::SQS::Queue');
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: dlqId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it("sends start-pipeline's own failures to a queue after two retries", () => {
    const startId = Object.entries(functionsByLogicalId(json)).find(([, n]) => n === 'start-pipeline')![0];
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: startId },
      MaximumRetryAttempts: 2,
      DestinationConfig: {
        OnFailure: {
          Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('TriggerStartFailureQueue'), 'Arn'] },
        },
      },
    });
  });

  it('lets start-pipeline start executions of this state machine only', () => {
    const machineId = logicalIdOfType(json, 'AWS::StepFunctions::StateMachine');
    expect(functionsAllowed(json, 'states:StartExecution', () => true)).toEqual(['start-pipeline']);
    const start = policyStatements(json).find((p) =>
      asArray(p.statement.Action).includes('states:StartExecution'),
    );
    expect(start?.statement.Resource).toEqual({ Ref: machineId });
    expect(functionsAllowed(json, 'states:DescribeExecution', () => true)).toEqual([
      'record-execution-failure',
      'start-pipeline',
    ]);
  });
});

describe('functions', () => {
  it('are the ten handlers, each on Node 24, ARM, traced, with source maps and its handler metadata', () => {
    expect(Object.values(functionsByLogicalId(json)).sort()).toEqual([...FUNCTION_NAMES].sort());
    for (const name of FUNCTION_NAMES) {
      template.hasResource('AWS::Lambda::Function', {
        Metadata: { 'aep:handler': `functions/${name}/handler.ts` },
        Properties: Match.objectLike({
          Runtime: 'nodejs24.x',
          Architectures: ['arm64'],
          TracingConfig: { Mode: 'Active' },
          Environment: {
            Variables: Match.objectLike({ NODE_OPTIONS: '--enable-source-maps', LOG_LEVEL: 'INFO' }),
          },
          LoggingConfig: { LogGroup: { Ref: Match.anyValue() } },
        }),
      });
    }
    const lambdas = Object.values<Json>(json.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(lambdas).toHaveLength(FUNCTION_NAMES.length);
  });

  it('get the memory and timeout their work needs', () => {
    const settings: Record<string, [number, number]> = {};
    for (const [id, name] of Object.entries(functionsByLogicalId(json))) {
      const p = json.Resources[id].Properties;
      settings[name] = [p.MemorySize, p.Timeout];
    }
    expect(settings).toEqual({
      'start-pipeline': [256, 120],
      'validate-file': [1024, 900],
      'validate-large-file': [10240, 900],
      'create-audience': [256, 120],
      'check-audience': [256, 120],
      'start-ingestion': [256, 120],
      'check-ingestion': [256, 120],
      'activate-destinations': [256, 120],
      'archive-file': [1024, 900],
      'handle-failure': [256, 300],
      'record-execution-failure': [256, 120],
      'keep-alive': [256, 900],
      'delete-audience': [256, 300],
    });
  });

  it('log to their own log groups with the configured retention', () => {
    template.resourcePropertiesCountIs(
      'AWS::Logs::LogGroup',
      { RetentionInDays: 30 },
      FUNCTION_NAMES.length + 1,
    );
  });

  it('give validate-file its settings from the configuration', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          BUCKET_NAME: { Ref: bucketId },
          DEFAULT_DESTINATIONS: '[]',
          DEFAULT_TTL_DAYS: '30',
          SOURCE_PATH_INCLUDES_BUCKET: 'true',
          REQUIRE_MANIFEST: 'false',
          IDENTITY_NAMESPACES: '{"crmid":"CRMID"}',
          MAX_FILE_SIZE_BYTES: '10737418240',
        }),
      },
    });
  });

  it('hand only the secret ARN and the table name to the AEP functions', () => {
    const secretId = logicalIdOfType(json, 'AWS::SecretsManager::Secret');
    const tableId = logicalIdOfType(json, 'AWS::DynamoDB::Table');
    const withSecret = Object.entries(functionsByLogicalId(json))
      .filter(([id]) => json.Resources[id].Properties.Environment.Variables.AEP_SECRET_ARN)
      .map(([, name]) => name)
      .sort();
    expect(withSecret).toEqual(ALL_AEP_FUNCTIONS);
    for (const name of ALL_AEP_FUNCTIONS) {
      template.hasResource('AWS::Lambda::Function', {
        Metadata: { 'aep:handler': `functions/${name}/handler.ts` },
        Properties: Match.objectLike({
          Environment: {
            Variables: Match.objectLike({
              AEP_SECRET_ARN: { Ref: secretId },
              REGISTRY_TABLE_NAME: { Ref: tableId },
            }),
          },
        }),
      });
    }
  });
});

describe('permissions', () => {
  it('only the five AEP functions and the two upkeep ones may read the credentials secret', () => {
    const secretId = logicalIdOfType(json, 'AWS::SecretsManager::Secret');
    const readers = functionsAllowed(json, 'secretsmanager:GetSecretValue', (r) => r?.Ref === secretId);
    expect(readers).toEqual(ALL_AEP_FUNCTIONS);
    const anyReader = policyStatements(json).filter((p) =>
      asArray(p.statement.Action).some((a: string) => a.startsWith('secretsmanager:')),
    );
    expect(anyReader.flatMap((p) => p.roles)).toHaveLength(ALL_AEP_FUNCTIONS.length);
  });

  it('only the five AEP functions may read and write the registry; the upkeep ones read and update it', () => {
    const tableId = logicalIdOfType(json, 'AWS::DynamoDB::Table');
    const onTable = (r: Json) => r?.['Fn::GetAtt']?.[0] === tableId;
    expect(functionsAllowed(json, 'dynamodb:PutItem', onTable)).toEqual(AEP_FUNCTIONS);
    expect(functionsAllowed(json, 'dynamodb:DeleteItem', onTable)).toEqual(AEP_FUNCTIONS);
    expect(functionsAllowed(json, 'dynamodb:GetItem', onTable)).toEqual(ALL_AEP_FUNCTIONS);
    expect(functionsAllowed(json, 'dynamodb:UpdateItem', onTable)).toEqual(ALL_AEP_FUNCTIONS);
    // The one listing: KeepAlive's daily look at every audience.
    expect(functionsAllowed(json, 'dynamodb:Scan', onTable)).toEqual(['keep-alive']);
  });

  it('runs KeepAlive daily on an EventBridge Scheduler schedule whose role invokes that function only', () => {
    const keepAliveId = Object.entries(functionsByLogicalId(json)).find(([, n]) => n === 'keep-alive')?.[0];
    const schedules = Object.values<Json>(json.Resources).filter(
      (r) => r.Type === 'AWS::Scheduler::Schedule',
    );
    expect(schedules).toHaveLength(1);
    const schedule = schedules[0].Properties;
    expect(schedule.ScheduleExpression).toBe('cron(15 4 * * ? *)');
    expect(schedule.ScheduleExpressionTimezone).toBe('UTC');
    expect(schedule.Target.Arn).toEqual({ 'Fn::GetAtt': [keepAliveId, 'Arn'] });
    const roleId = schedule.Target.RoleArn['Fn::GetAtt'][0];
    const role = json.Resources[roleId].Properties;
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      expect.objectContaining({
        Principal: { Service: 'scheduler.amazonaws.com' },
        Condition: { StringEquals: { 'aws:SourceAccount': expect.anything() } },
      }),
    ]);
    const invokes = policyStatements(json).filter((p) => p.roles.includes(roleId));
    expect(invokes.map((p) => p.statement)).toEqual([
      expect.objectContaining({
        Action: 'lambda:InvokeFunction',
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [keepAliveId, 'Arn'] },
      }),
    ]);
  });

  it('lets the upkeep functions retag staged copies, and nothing else under staging/ beyond validation', () => {
    const under = (r: Json) =>
      JSON.stringify(r) ===
      JSON.stringify({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/staging/*']] });
    expect(functionsAllowed(json, 's3:PutObjectTagging', under)).toEqual(
      expect.arrayContaining(UPKEEP_FUNCTIONS),
    );
    for (const name of UPKEEP_FUNCTIONS) {
      expect(functionsAllowed(json, 's3:GetObject', under)).not.toContain(name);
      expect(functionsAllowed(json, 's3:PutObject', under)).not.toContain(name);
    }
  });

  it('grants each S3 action only under the prefixes its function works on', () => {
    const under = (prefix: string) => (r: Json) =>
      JSON.stringify(r) ===
      JSON.stringify({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, `/${prefix}*`]] });
    expect(functionsAllowed(json, 's3:GetObject', under('incoming/'))).toEqual([
      'archive-file',
      'handle-failure',
      'validate-file',
      'validate-large-file',
    ]);
    expect(functionsAllowed(json, 's3:DeleteObject', under('incoming/'))).toEqual([
      'archive-file',
      'handle-failure',
    ]);
    expect(functionsAllowed(json, 's3:PutObject', under('staging/'))).toEqual([
      'validate-file',
      'validate-large-file',
    ]);
    expect(functionsAllowed(json, 's3:PutObject', under('processed/'))).toEqual(['archive-file']);
    expect(functionsAllowed(json, 's3:PutObject', under('failed/'))).toEqual(['handle-failure']);
    expect(functionsAllowed(json, 's3:PutObject', under('reports/'))).toEqual([
      'archive-file',
      'handle-failure',
      'record-execution-failure',
      'validate-file',
      'validate-large-file',
    ]);
    expect(functionsAllowed(json, 's3:PutObject', under('incoming/'))).toEqual([]);
    // No function gets an object action on the whole bucket.
    expect(functionsAllowed(json, 's3:GetObject', under(''))).toEqual([]);
    expect(functionsAllowed(json, 's3:DeleteObjectVersion', () => true)).toEqual([]);
  });

  it("gives AEP's source user object access to staging/ only, and no access key", () => {
    const userId = logicalIdOfType(json, 'AWS::IAM::User');
    const statements = policyStatements(json).filter((p) => p.users.includes(userId));
    // Its statements are pinned in iam-policies.test.ts; here: every object ARN it names is under staging/.
    const objectResources = statements
      .flatMap((s) => asArray(s.statement.Resource))
      .filter((r: Json) => r?.['Fn::Join'] !== undefined);
    expect(objectResources).toEqual([
      { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/staging/*']] },
    ]);
    template.resourceCountIs('AWS::IAM::AccessKey', 0);
  });
});

describe('registry and secret', () => {
  it('keeps the registry on demand, recoverable to a point in time, encrypted, and retained', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: Match.objectLike({
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      }),
      DeletionPolicy: 'Retain',
    });
  });

  it('creates the secret by name with an empty placeholder, never a credential', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'aep-audience-pipeline/aep-credentials',
      SecretString: JSON.stringify({
        clientId: '',
        clientSecret: '',
        orgId: '',
        sandboxName: '',
        baseConnectionId: '',
      }),
    });
  });

  it('outputs what operators need', () => {
    for (const name of [
      'BucketName',
      'StateMachineArn',
      'RegistryTableName',
      'SecretArn',
      'AepSourceUserName',
    ]) {
      expect(Object.keys(json.Outputs)).toContain(name);
    }
  });
});

describe('state machine', () => {
  it('is a Standard machine with tracing, full logging without execution data, and a 24-hour timeout', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: false }),
    });
    expect(definition.TimeoutSeconds).toBe(48 * 3600);
    expect(definition.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
  });

  it('logs to a group under /aws/vendedlogs/states/, named after the stack, destroyed with it', () => {
    const machine = json.Resources[logicalIdOfType(json, 'AWS::StepFunctions::StateMachine')];
    const [destination] = machine.Properties.LoggingConfiguration.Destinations;
    const groupId = destination.CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0];
    expect(json.Resources[groupId]).toMatchObject({
      Type: 'AWS::Logs::LogGroup',
      Properties: { LogGroupName: '/aws/vendedlogs/states/AepAudiencePipeline-Workflow' },
      DeletionPolicy: 'Delete',
    });
  });

  it('has the states of the story, starting with the choice of validation by size', () => {
    expect(definition.StartAt).toBe('LargeFile?');
    expect(Object.keys(definition.States).sort()).toEqual(
      [
        'LargeFile?',
        'ValidateFile',
        'ValidateLargeFile',
        'Rejected?',
        'RejectFile',
        'CreateAudience',
        'AudienceReady?',
        'WaitForAudience',
        'CheckAudience',
        'StartIngestion',
        'IngestionDone?',
        'WaitForIngestion',
        'WaitForRunSlot',
        'CheckIngestion',
        'ActivateDestinations',
        'ArchiveFile',
        'Succeeded',
        'HandleFailure',
        'Failed',
      ].sort(),
    );
  });

  it('invokes each task function directly, with the state document, a result path, a timeout, and a next state', () => {
    expect(fnByState).toEqual({
      ValidateFile: 'validate-file',
      ValidateLargeFile: 'validate-large-file',
      CreateAudience: 'create-audience',
      CheckAudience: 'check-audience',
      StartIngestion: 'start-ingestion',
      CheckIngestion: 'check-ingestion',
      ActivateDestinations: 'activate-destinations',
      ArchiveFile: 'archive-file',
      HandleFailure: 'handle-failure',
    });
    const expected: Record<string, [string, number, string]> = {
      ValidateFile: ['$.validation', 900, 'Rejected?'],
      ValidateLargeFile: ['$.validation', 900, 'Rejected?'],
      CreateAudience: ['$.audience', 120, 'AudienceReady?'],
      CheckAudience: ['$.audience', 60, 'AudienceReady?'],
      StartIngestion: ['$.ingestion', 120, 'IngestionDone?'],
      CheckIngestion: ['$.ingestion', 60, 'IngestionDone?'],
      ActivateDestinations: ['$.activation', 300, 'ArchiveFile'],
      ArchiveFile: ['$.result', 900, 'Succeeded'],
      HandleFailure: ['$.failure', 300, 'Failed'],
    };
    for (const [name, [resultPath, timeout, next]] of Object.entries(expected)) {
      const state = definition.States[name];
      expect({ name, resultPath: state.ResultPath, timeout: state.TimeoutSeconds, next: state.Next }).toEqual(
        {
          name,
          resultPath,
          timeout,
          next,
        },
      );
      expect(state.Parameters).toEqual({
        'executionName.$': '$$.Execution.Name',
        'executionArn.$': '$$.Execution.Id',
        'state.$': '$',
      });
    }
  });

  it('retries Lambda service errors everywhere and AEP outages on the AEP tasks only', () => {
    const serviceRetry = {
      ErrorEquals: [...LAMBDA_SERVICE_ERRORS],
      IntervalSeconds: 2,
      MaxAttempts: 6,
      BackoffRate: 2,
    };
    const aepRetries = [
      {
        ErrorEquals: [RETRYABLE_ERROR_CODES[0]],
        IntervalSeconds: 20,
        BackoffRate: 2,
        MaxAttempts: 4,
        MaxDelaySeconds: 300,
        JitterStrategy: 'FULL',
      },
      {
        ErrorEquals: [RETRYABLE_ERROR_CODES[1]],
        IntervalSeconds: 60,
        BackoffRate: 1.5,
        MaxAttempts: 10,
        MaxDelaySeconds: 600,
        JitterStrategy: 'FULL',
      },
    ];
    for (const name of [
      'CreateAudience',
      'CheckAudience',
      'StartIngestion',
      'CheckIngestion',
      'ActivateDestinations',
    ]) {
      expect(definition.States[name].Retry).toEqual([serviceRetry, ...aepRetries]);
    }
    for (const name of ['ValidateFile', 'ArchiveFile', 'HandleFailure']) {
      expect(definition.States[name].Retry).toEqual([serviceRetry]);
    }
  });

  it('catches only wrong-input codes, into HandleFailure, and leaves everything else uncaught', () => {
    const catcher = [{ ErrorEquals: [...CAUGHT_ERROR_CODES], ResultPath: '$.error', Next: 'HandleFailure' }];
    for (const name of [
      'ValidateFile',
      'CreateAudience',
      'CheckAudience',
      'StartIngestion',
      'CheckIngestion',
      'ActivateDestinations',
    ]) {
      expect(definition.States[name].Catch).toEqual(catcher);
    }
    expect(definition.States.ArchiveFile.Catch).toBeUndefined();
    expect(definition.States.HandleFailure.Catch).toBeUndefined();
    const text = JSON.stringify(definition);
    expect(text).not.toContain('States.ALL');
    expect(text).not.toContain('States.TaskFailed');
    expect(text).not.toContain('States.Timeout');
  });

  it('branches on the validation result, the audience status and the ingestion status', () => {
    expect(definition.States['Rejected?']).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.validation.valid', BooleanEquals: false, Next: 'RejectFile' }],
      Default: 'CreateAudience',
    });
    expect(definition.States['AudienceReady?']).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.audience.status', StringEquals: 'READY', Next: 'StartIngestion' }],
      Default: 'WaitForAudience',
    });
    expect(definition.States['IngestionDone?']).toEqual({
      Type: 'Choice',
      Choices: [
        { Variable: '$.ingestion.status', StringEquals: 'SUCCESS', Next: 'ActivateDestinations' },
        { Variable: '$.ingestion.status', StringEquals: 'WAITING', Next: 'WaitForRunSlot' },
      ],
      Default: 'WaitForIngestion',
    });
  });

  it('waits for the interval the polling task asked for', () => {
    expect(definition.States.WaitForAudience).toEqual({
      Type: 'Wait',
      SecondsPath: '$.audience.poll.waitSeconds',
      Next: 'CheckAudience',
    });
    expect(definition.States.WaitForIngestion).toEqual({
      Type: 'Wait',
      SecondsPath: '$.ingestion.poll.waitSeconds',
      Next: 'CheckIngestion',
    });
    // Another file's run of the audience, or the day's run budget: StartIngestion asks again after the wait.
    expect(definition.States.WaitForRunSlot).toEqual({
      Type: 'Wait',
      SecondsPath: '$.ingestion.poll.waitSeconds',
      Next: 'StartIngestion',
    });
  });

  it('turns a rejection into the error HandleFailure reads, and fails with the failure it reports', () => {
    expect(definition.States.RejectFile).toEqual({
      Type: 'Pass',
      Parameters: { 'Error.$': '$.validation.failure.code', 'Cause.$': '$.validation.failure.message' },
      ResultPath: '$.error',
      Next: 'HandleFailure',
    });
    expect(definition.States.Failed).toEqual({
      Type: 'Fail',
      ErrorPath: '$.failure.code',
      CausePath: '$.failure.message',
    });
    expect(definition.States.Succeeded).toEqual({ Type: 'Succeed' });
  });
});

describe('execution failure rule', () => {
  it('sends FAILED, TIMED_OUT and ABORTED executions of this machine to record-execution-failure', () => {
    const machineId = logicalIdOfType(json, 'AWS::StepFunctions::StateMachine');
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: { status: ['FAILED', 'TIMED_OUT', 'ABORTED'], stateMachineArn: [{ Ref: machineId }] },
      },
    });
    const rule = Object.values<Json>(json.Resources).find(
      (r) => r.Properties?.EventPattern?.source?.[0] === 'aws.states',
    );
    expect(functionsByLogicalId(json)[rule.Properties.Targets[0].Arn['Fn::GetAtt'][0]]).toBe(
      'record-execution-failure',
    );
  });

  it('ends an undeliverable event in an encrypted, TLS-only dead-letter queue only this rule may send to', () => {
    const ruleId = Object.entries<Json>(json.Resources).find(
      ([, r]) => r.Properties?.EventPattern?.source?.[0] === 'aws.states',
    )?.[0] as string;
    const [target] = json.Resources[ruleId].Properties.Targets;
    expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 8 });
    const dlqId = target.DeadLetterConfig.Arn['Fn::GetAtt'][0];
    expect(dlqId).toMatch(/^ExecutionFailuresDeadLetterQueue/);
    expect(json.Resources[dlqId].Properties).toEqual({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: dlqId }],
      PolicyDocument: {
        Statement: [
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [ruleId, 'Arn'] } } },
          }),
        ],
      },
    });
  });
});

describe('cdk-nag', () => {
  it('reports no unacknowledged AwsSolutions finding', () => {
    const report = new AwsSolutionsChecks().validateScope(app);
    const findings = report.violations.flatMap((v) =>
      v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`),
    );
    expect(findings).toEqual([]);
  });

  it('does find what it should in an insecure bucket (the check is live)', () => {
    const scratch = new App();
    new s3.Bucket(new Stack(scratch, 'Scratch'), 'Open');
    const rules = new AwsSolutionsChecks().validateScope(scratch).violations.map((v) => v.ruleName);
    expect(rules).toEqual(expect.arrayContaining(['AwsSolutions-S1', 'AwsSolutions-S10']));
  });
});
