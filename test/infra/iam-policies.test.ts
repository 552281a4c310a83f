// Pins every statement of every function's role and of AEP's source user (actions, resources with their
// prefixes, conditions): a grant that widens (a new action, a prefix dropped, a `*`) fails here and must be
// argued for in review.
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app-factory.ts';
import { FUNCTION_NAMES } from '../../lib/constructs/task-function.ts';
import {
  asArray,
  flatten,
  functionsByLogicalId,
  type Json,
  logicalIdOfType,
  policyStatements,
} from './template-helpers.ts';

let json: Json;

beforeAll(() => {
  const { app, stack } = buildApp({ skipBundling: true });
  json = app.synth().getStackByName(stack.stackName).template;
});

/** Readable names for the resources statements point at, so the pins below read as sentences. */
function resourceNames(template: Json, ownLogGroup: string): Record<string, string> {
  const names: Record<string, string> = {};
  for (const [id, resource] of Object.entries<Json>(template.Resources)) {
    const type: string = resource.Type;
    if (type === 'AWS::S3::Bucket' && /^DropBucket[0-9A-F]{8}$/.test(id)) names[id] = 'bucket';
    else if (type === 'AWS::DynamoDB::Table') names[id] = 'registry';
    else if (type === 'AWS::SecretsManager::Secret') names[id] = 'secret';
    else if (type === 'AWS::StepFunctions::StateMachine') names[id] = 'state-machine';
    else if (type === 'AWS::SNS::Topic' && id.startsWith('NotificationsOutcomes'))
      names[id] = 'outcome-topic';
    else if (type === 'AWS::KMS::Key' && id.startsWith('Notifications')) names[id] = 'topics-key';
    else if (type === 'AWS::SQS::Queue' && id.startsWith('TriggerStartFailureQueue'))
      names[id] = 'start-failure-queue';
    else if (id === ownLogGroup) names[id] = 'own-log-group';
  }
  return names;
}

function render(resource: Json, names: Record<string, string>): string {
  return (
    flatten(resource)
      .replace(/<([A-Za-z0-9]+)(\.Arn)?>/g, (whole, id: string) => (names[id] ? `<${names[id]}>` : whole))
      .replace('arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:', 'arn:…:')
      // The state machine's name, as CDK cuts it out of the machine's ARN.
      .replace(
        /\{"Fn::Select":\[6,\{"Fn::Split":\[":",\{"Ref":"([A-Za-z0-9]+)"\}\]\}\]\}/,
        (whole, id: string) => (names[id] ? `<${names[id]}.Name>` : whole),
      )
  );
}

/** `actions on resource [if condition]`, one line per resource of each statement. */
function grantLines(statement: Json, names: Record<string, string>): string[] {
  expect(statement.Effect).toBe('Allow');
  const actions = asArray<string>(statement.Action).sort().join(',');
  const condition = statement.Condition ? ` if ${JSON.stringify(statement.Condition)}` : '';
  return asArray(statement.Resource).map(
    (resource) => `${actions} on ${render(resource, names)}${condition}`,
  );
}

/** handler folder → `actions on resource [if condition]`, one line per statement and resource, sorted. */
function grantsByFunction(template: Json): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [fnId, name] of Object.entries(functionsByLogicalId(template))) {
    const fn = template.Resources[fnId];
    const role = fn.Properties.Role['Fn::GetAtt'][0] as string;
    const logGroup = fn.Properties.LoggingConfig?.LogGroup?.Ref as string;
    const names = resourceNames(template, logGroup);
    const lines: string[] = [];
    for (const { roles, statement } of policyStatements(template)) {
      if (roles.includes(role)) lines.push(...grantLines(statement, names));
    }
    // No managed policy either: AWSLambdaBasicExecutionRole would let it write any log group.
    expect(template.Resources[role].Properties.ManagedPolicyArns ?? []).toEqual([]);
    out[name] = lines.sort();
  }
  return out;
}

const LOGS = 'logs:CreateLogStream,logs:PutLogEvents on <own-log-group>';
const XRAY = 'xray:PutTelemetryRecords,xray:PutTraceSegments on *';
/** ListObjectsV2 (the existence checks) under these prefixes only: no read, and no listing elsewhere. */
const listUnder = (...prefixes: string[]) =>
  `s3:ListBucket on <bucket> if ${JSON.stringify({ StringLike: { 's3:prefix': prefixes.map((p) => `${p}*`) } })}`;
const REGISTRY = 'dynamodb:DeleteItem,dynamodb:GetItem,dynamodb:PutItem,dynamodb:UpdateItem on <registry>';
const SECRET = 'secretsmanager:DescribeSecret,secretsmanager:GetSecretValue on <secret>';
const PUBLISH = ['kms:Decrypt,kms:GenerateDataKey* on <topics-key>', 'sns:Publish on <outcome-topic>'];
const EXECUTIONS = 'states:DescribeExecution on arn:…:execution:<state-machine.Name>:*';
const AEP_TASK = [LOGS, REGISTRY, SECRET, XRAY].sort();
/** The upkeep functions: claims, records and locks are UpdateItems, reads GetItems; no put, no delete. */
const UPKEEP_REGISTRY = 'dynamodb:GetItem,dynamodb:UpdateItem on <registry>';
/** A staged copy's retention tag: PutObjectTagging on the current version only. */
const RETAG = 's3:PutObjectTagging on <bucket>/staging/*';
/**
 * moveObject's source: HEAD of the current object and of the version the event names (GetObject,
 * GetObjectVersion), CopyObject/UploadPartCopy of either (the same two, and the source's tags that the default
 * tagging directive copies), DeleteObject of the current object (a delete marker, no VersionId).
 */
const MOVE_SOURCE =
  's3:DeleteObject,s3:GetObject,s3:GetObjectTagging,s3:GetObjectVersion,s3:GetObjectVersionTagging on <bucket>/incoming/*';
/** moveObject's target: CopyObject, or CreateMultipartUpload/UploadPartCopy/Complete/Abort, and the tags. */
const moveTarget = (prefix: string) =>
  `s3:AbortMultipartUpload,s3:PutObject,s3:PutObjectTagging on <bucket>/${prefix}*`;

const EXPECTED: Record<string, string[]> = {
  'start-pipeline': [
    LOGS,
    XRAY,
    EXECUTIONS,
    'states:StartExecution on <state-machine>',
    // A folder drop's marker: the folder listed to size the run (the LargeFile? Choice).
    listUnder('incoming/'),
    // Its on-failure destination: Lambda sends the failed event there with the function's role.
    'sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:SendMessage on <start-failure-queue>',
  ],
  'validate-file': [
    LOGS,
    XRAY,
    // Is there a manifest (most files come without), is an unversioned original still there.
    listUnder('incoming/'),
    // GetObject of the manifest, HEAD and GetObject of the original (by the version its event names).
    's3:GetObject,s3:GetObjectVersion on <bucket>/incoming/*',
    // The staged copy streamed through lib-storage with its retention tag (abort when refused), then its HEAD
    // for LastModified.
    's3:AbortMultipartUpload,s3:GetObject,s3:PutObject,s3:PutObjectTagging on <bucket>/staging/*',
    // validation.json (PutObject) and rejects.csv streamed like the staged copy.
    's3:AbortMultipartUpload,s3:PutObject on <bucket>/reports/*',
  ],
  'validate-large-file': [
    LOGS,
    XRAY,
    // The same code and grants as validate-file.
    listUnder('incoming/'),
    's3:GetObject,s3:GetObjectVersion on <bucket>/incoming/*',
    's3:AbortMultipartUpload,s3:GetObject,s3:PutObject,s3:PutObjectTagging on <bucket>/staging/*',
    's3:AbortMultipartUpload,s3:PutObject on <bucket>/reports/*',
  ],
  'create-audience': AEP_TASK,
  'check-audience': AEP_TASK,
  'start-ingestion': AEP_TASK,
  'check-ingestion': AEP_TASK,
  'activate-destinations': AEP_TASK,
  'archive-file': [
    LOGS,
    XRAY,
    ...PUBLISH,
    // Which of source and target exist, for the original and its manifest: a moved or missing file, no read.
    listUnder('incoming/', 'processed/'),
    MOVE_SOURCE,
    moveTarget('processed/'),
    // PutObject of result.json; DeleteObject of a redriven execution's stale error.json.
    's3:DeleteObject,s3:PutObject on <bucket>/reports/*',
  ],
  'handle-failure': [
    LOGS,
    XRAY,
    ...PUBLISH,
    listUnder('incoming/', 'failed/'),
    MOVE_SOURCE,
    moveTarget('failed/'),
    // PutObject of error.json.
    's3:PutObject on <bucket>/reports/*',
  ],
  'keep-alive': [
    LOGS,
    XRAY,
    SECRET,
    // UPKEEP_REGISTRY and the daily look at every audience (Scan), merged into one statement.
    'dynamodb:GetItem,dynamodb:Scan,dynamodb:UpdateItem on <registry>',
    RETAG,
    // Expiry notices on the outcome topic.
    ...PUBLISH,
  ],
  'delete-audience': [LOGS, XRAY, SECRET, UPKEEP_REGISTRY, RETAG],
  'record-execution-failure': [
    LOGS,
    XRAY,
    EXECUTIONS,
    ...PUBLISH,
    // Whether HandleFailure already wrote error.json.
    listUnder('reports/'),
    // PutObject of error.json.
    's3:PutObject on <bucket>/reports/*',
  ],
};

describe('each function may do only its own actions on its own resources', () => {
  it('covers every function of the stack', () => {
    expect(Object.keys(grantsByFunction(json)).sort()).toEqual([...FUNCTION_NAMES].sort());
  });

  for (const name of FUNCTION_NAMES) {
    it(`${name}`, () => {
      expect(grantsByFunction(json)[name]).toEqual([...EXPECTED[name]!].sort());
    });
  }

  it('grants `*` only for X-Ray, whose actions have no resource-level scoping', () => {
    const wildcards = Object.values(grantsByFunction(json))
      .flat()
      .filter((line) => line.endsWith(' on *'));
    expect(new Set(wildcards)).toEqual(new Set([XRAY]));
  });
});

describe("AEP's S3 source user", () => {
  it('may do what Adobe asks of it, on staging/ wherever S3 scopes the action', () => {
    const userId = logicalIdOfType(json, 'AWS::IAM::User');
    const names = resourceNames(json, '');
    const lines = policyStatements(json)
      .filter(({ users }) => users.includes(userId))
      .flatMap(({ statement }) => grantLines(statement, names));
    expect(lines.sort()).toEqual(
      [
        // Ingesting the staged copies, current or by version (the bucket is versioned).
        's3:GetObject,s3:GetObjectVersion on <bucket>/staging/*',
        // Exploring the base connection's folderPath `staging`: the folder and what is under it.
        `s3:ListBucket on <bucket> if ${JSON.stringify({ StringLike: { 's3:prefix': ['staging', 'staging/', 'staging/*'] } })}`,
        // Resolving the bucket's region; testing the connection (bucket names only; no resource but `*`).
        's3:GetBucketLocation on <bucket>',
        's3:ListAllMyBuckets on *',
      ].sort(),
    );
  });
});
