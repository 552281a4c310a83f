// THE table: for each (service, operation) the functions and the operator CLI send, the authorization checks
// AWS makes (IAM action, resource ARN, service condition keys). A request the table does not know is an error.
import type { Json } from '../runner/synthesized.ts';

/** One authorization AWS makes for a request; a request may need several (a copy reads and writes). */
export interface Check {
  action: string;
  resource: string;
  context: Record<string, string | string[]>;
  /** The error code the service answers when this check fails, when it is not the service's usual one. */
  errorCode?: string;
}

/** An S3 REST request, path style, as the gateway parsed it. */
export interface S3Input {
  bucket: string;
  /** Decoded; empty for a bucket operation. */
  key: string;
  query: URLSearchParams;
  /** Lower-case names. */
  headers: Record<string, string | undefined>;
  /** Presigned URL (credentials in the query string) rather than an Authorization header. */
  presigned: boolean;
  /** DeleteObjects: the keys listed in its body. */
  objects?: { key: string; versionId?: string }[];
}

export type AwsRequest =
  | { service: 's3'; operation: string; s3: S3Input }
  | { service: string; operation: string; params: Record<string, Json> };

/** What the checks depend on beyond the request itself. */
export interface TableContext {
  region: string;
  account: string;
  /** Topics by ARN with the key that encrypts them. */
  topics: Record<string, { kmsKeyArn?: string }>;
  /** Secrets by full ARN, with name and customer key. */
  secrets: Record<string, { name: string; kmsKeyArn?: string }>;
  /** CopyObject with the COPY tagging directive: whether the source object has tags (looked up by the caller). */
  copySourceHasTags?: boolean;
}

export class UnknownOperationError extends Error {
  override readonly name = 'UnknownOperationError';

  constructor(
    readonly service: string,
    readonly operation: string,
  ) {
    super(
      `local AWS gateway: ${service} ${operation} is not in the IAM action table (local/iam/actions.ts), ` +
        'so its permissions cannot be checked; add it there',
    );
  }
}

type S3Rule = (input: S3Input, ctx: TableContext) => Check[];
type RpcRule = (params: Record<string, Json>, ctx: TableContext) => Check[];

const objectArn = (bucket: string, key: string) => `arn:aws:s3:::${bucket}/${key}`;
const bucketArn = (bucket: string) => `arn:aws:s3:::${bucket}`;

/** Keys S3 puts in every request's context. */
function s3Context(input: S3Input, ctx: TableContext): Record<string, string> {
  const out: Record<string, string> = {
    's3:authType': input.presigned ? 'REST-QUERY-STRING' : 'REST-HEADER',
    's3:signatureversion': 'AWS4-HMAC-SHA256',
    's3:ResourceAccount': ctx.account,
  };
  const sha = input.headers['x-amz-content-sha256'];
  if (sha) out['s3:x-amz-content-sha256'] = sha;
  return out;
}

/** Request headers S3 exposes as condition keys of the same name (`s3:x-amz-acl`...), where present. */
function headerKeys(input: S3Input, names: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = input.headers[name];
    if (value !== undefined) out[`s3:${name}`] = value;
  }
  return out;
}

const WRITE_HEADERS = [
  'x-amz-acl',
  'x-amz-server-side-encryption',
  'x-amz-server-side-encryption-aws-kms-key-id',
  'x-amz-storage-class',
  'x-amz-website-redirect-location',
  'x-amz-object-lock-mode',
  'x-amz-object-lock-retain-until-date',
  'x-amz-object-lock-legal-hold',
];

/** `s3:RequestObjectTagKeys` and `s3:RequestObjectTag/<key>` of an `x-amz-tagging` header (URL query form). */
function requestTagKeys(tagging: string | undefined): Record<string, string | string[]> {
  if (tagging === undefined) return {};
  const tags = new URLSearchParams(tagging);
  const out: Record<string, string | string[]> = { 's3:RequestObjectTagKeys': [...tags.keys()] };
  for (const [key, value] of tags) out[`s3:RequestObjectTag/${key}`] = value;
  return out;
}

/** A write of an object (PutObject, CreateMultipartUpload): s3:PutObject, and s3:PutObjectTagging with tags. */
function writeChecks(input: S3Input, ctx: TableContext, extra: Record<string, string> = {}): Check[] {
  const resource = objectArn(input.bucket, input.key);
  const tagging = input.headers['x-amz-tagging'];
  const context = {
    ...s3Context(input, ctx),
    ...headerKeys(input, WRITE_HEADERS),
    ...requestTagKeys(tagging),
    ...extra,
  };
  const checks: Check[] = [{ action: 's3:PutObject', resource, context }];
  // PutObject API reference, Permissions: "To successfully set the tag-set with your PutObject request, you
  // must have the s3:PutObjectTagging."
  if (tagging !== undefined) checks.push({ action: 's3:PutObjectTagging', resource, context });
  return checks;
}

/** `x-amz-copy-source`: `bucket/key[?versionId=...]`, the key URL-encoded, an optional leading slash. */
export function parseCopySource(header: string): { bucket: string; key: string; versionId?: string } {
  const [path = '', query = ''] = header.replace(/^\//, '').split('?', 2);
  const slash = path.indexOf('/');
  if (slash <= 0) throw new Error(`x-amz-copy-source ${header} is not bucket/key`);
  const versionId = new URLSearchParams(query).get('versionId') ?? undefined;
  return {
    bucket: decodeURIComponent(path.slice(0, slash)),
    key: decodeURIComponent(path.slice(slash + 1)),
    ...(versionId ? { versionId } : {}),
  };
}

/**
 * Reading the source of a copy: s3:GetObject, or s3:GetObjectVersion alone when the source names a version
 * (GetObject API reference: "If you include a versionId ... you must have the s3:GetObjectVersion permission
 * ... The s3:GetObject permission is not required in this scenario.").
 */
function copySourceRead(input: S3Input, ctx: TableContext): { checks: Check[]; source: string } {
  const header = input.headers['x-amz-copy-source'];
  if (!header) throw new Error('a copy without x-amz-copy-source');
  const source = parseCopySource(header);
  const resource = objectArn(source.bucket, source.key);
  const context = {
    ...s3Context(input, ctx),
    ...(source.versionId ? { 's3:versionid': source.versionId } : {}),
  };
  const action = source.versionId ? 's3:GetObjectVersion' : 's3:GetObject';
  return { checks: [{ action, resource, context }], source: header };
}

function readObject(input: S3Input, ctx: TableContext, current: string, version: string): Check[] {
  const versionId = input.query.get('versionId');
  return [
    {
      action: versionId ? version : current,
      resource: objectArn(input.bucket, input.key),
      context: { ...s3Context(input, ctx), ...(versionId ? { 's3:versionid': versionId } : {}) },
    },
  ];
}

/** ListObjects(V2), ListObjectVersions: the bucket, with the listing's parameters as condition keys. */
function listBucket(action: string): S3Rule {
  return (input, ctx) => {
    const context: Record<string, string> = {
      ...s3Context(input, ctx),
      // An absent prefix is an empty one: a statement conditioned on s3:prefix then decides on "".
      's3:prefix': input.query.get('prefix') ?? '',
    };
    const delimiter = input.query.get('delimiter');
    if (delimiter !== null) context['s3:delimiter'] = delimiter;
    const maxKeys = input.query.get('max-keys');
    if (maxKeys !== null) context['s3:max-keys'] = maxKeys;
    return [{ action, resource: bucketArn(input.bucket), context }];
  };
}

const onBucket =
  (action: string): S3Rule =>
  (input, ctx) => [{ action, resource: bucketArn(input.bucket), context: s3Context(input, ctx) }];

const onObject =
  (action: string): S3Rule =>
  (input, ctx) => [{ action, resource: objectArn(input.bucket, input.key), context: s3Context(input, ctx) }];

const S3_RULES: Record<string, S3Rule> = {
  ListBuckets: (input, ctx) => [
    { action: 's3:ListAllMyBuckets', resource: '*', context: s3Context(input, ctx) },
  ],
  GetObject: (input, ctx) => readObject(input, ctx, 's3:GetObject', 's3:GetObjectVersion'),
  HeadObject: (input, ctx) => readObject(input, ctx, 's3:GetObject', 's3:GetObjectVersion'),
  GetObjectAttributes: (input, ctx) => [
    ...readObject(input, ctx, 's3:GetObject', 's3:GetObjectVersion'),
    ...readObject(input, ctx, 's3:GetObjectAttributes', 's3:GetObjectVersionAttributes'),
  ],
  PutObject: (input, ctx) => writeChecks(input, ctx),
  CreateMultipartUpload: (input, ctx) => writeChecks(input, ctx),
  UploadPart: onObject('s3:PutObject'),
  CompleteMultipartUpload: onObject('s3:PutObject'),
  AbortMultipartUpload: onObject('s3:AbortMultipartUpload'),
  ListParts: onObject('s3:ListMultipartUploadParts'),
  CopyObject: (input, ctx) => {
    const read = copySourceRead(input, ctx);
    const extra = {
      's3:x-amz-copy-source': read.source,
      ...headerKeys(input, ['x-amz-metadata-directive']),
    };
    const directive = (input.headers['x-amz-tagging-directive'] ?? 'COPY').toUpperCase();
    // With REPLACE the copy gets the request's x-amz-tagging (writeChecks asks s3:PutObjectTagging then).
    // With COPY, the default, it gets the source's tags. AWS Knowledge Center, "How do I use Lambda to copy
    // files from one Amazon S3 bucket to another?" (repost.aws/knowledge-center/lambda-copy-s3-files):
    // "To copy objects that have object tags, the execution role must have s3:GetObjectTagging and
    // s3:PutObjectTagging permissions. You must have s3:GetObjectTagging permission for the source object in
    // the source bucket and s3:PutObjectTagging permission for objects in the destination bucket." The CopyObject
    // API reference names only s3:GetObject and s3:PutObject: an untagged source needs nothing more.
    const writes =
      directive === 'REPLACE'
        ? writeChecks(input, ctx, extra)
        : writeChecks({ ...input, headers: { ...input.headers, 'x-amz-tagging': undefined } }, ctx, extra);
    const tagChecks: Check[] = [];
    if (directive === 'COPY' && ctx.copySourceHasTags) {
      const [sourceRead] = read.checks as [Check];
      const versioned = sourceRead.action === 's3:GetObjectVersion';
      tagChecks.push(
        { ...sourceRead, action: versioned ? 's3:GetObjectVersionTagging' : 's3:GetObjectTagging' },
        { ...(writes[0] as Check), action: 's3:PutObjectTagging' },
      );
    }
    return [...read.checks, ...writes, ...tagChecks];
  },
  // A part copy carries no tags (an upload's tags are set by CreateMultipartUpload): read and write only.
  UploadPartCopy: (input, ctx) => {
    const read = copySourceRead(input, ctx);
    return [
      ...read.checks,
      {
        action: 's3:PutObject',
        resource: objectArn(input.bucket, input.key),
        context: { ...s3Context(input, ctx), 's3:x-amz-copy-source': read.source },
      },
    ];
  },
  DeleteObject: (input, ctx) => readObject(input, ctx, 's3:DeleteObject', 's3:DeleteObjectVersion'),
  // DeleteObjects API reference: the caller needs s3:DeleteObject (s3:DeleteObjectVersion for a versionId)
  // for every object it lists.
  DeleteObjects: (input, ctx) =>
    (input.objects ?? []).map((object) => ({
      action: object.versionId ? 's3:DeleteObjectVersion' : 's3:DeleteObject',
      resource: objectArn(input.bucket, object.key),
      context: {
        ...s3Context(input, ctx),
        ...(object.versionId ? { 's3:versionid': object.versionId } : {}),
      },
    })),
  ListObjects: listBucket('s3:ListBucket'),
  ListObjectsV2: listBucket('s3:ListBucket'),
  ListObjectVersions: listBucket('s3:ListBucketVersions'),
  ListMultipartUploads: onBucket('s3:ListBucketMultipartUploads'),
  HeadBucket: onBucket('s3:ListBucket'),
  GetBucketLocation: onBucket('s3:GetBucketLocation'),
  GetBucketVersioning: onBucket('s3:GetBucketVersioning'),
  PutBucketVersioning: onBucket('s3:PutBucketVersioning'),
  CreateBucket: onBucket('s3:CreateBucket'),
  DeleteBucket: onBucket('s3:DeleteBucket'),
  GetObjectTagging: (input, ctx) =>
    readObject(input, ctx, 's3:GetObjectTagging', 's3:GetObjectVersionTagging'),
  PutObjectTagging: (input, ctx) =>
    readObject(input, ctx, 's3:PutObjectTagging', 's3:PutObjectVersionTagging'),
  DeleteObjectTagging: (input, ctx) =>
    readObject(input, ctx, 's3:DeleteObjectTagging', 's3:DeleteObjectVersionTagging'),
};

// --- DynamoDB -------------------------------------------------------------------------------------------

/** TableName may be a name or a table ARN. */
function tableArn(table: string, ctx: TableContext): string {
  return table.startsWith('arn:') ? table : `arn:aws:dynamodb:${ctx.region}:${ctx.account}:table/${table}`;
}

/**
 * The service keys DynamoDB fills from the request. dynamodb:LeadingKeys and dynamodb:Attributes are left
 * out: they need the table's key schema and the expressions' attribute names, and no policy here uses them.
 */
function dynamoContext(params: Record<string, Json>): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof params.ReturnValues === 'string') out['dynamodb:ReturnValues'] = params.ReturnValues;
  if (typeof params.ReturnConsumedCapacity === 'string') {
    out['dynamodb:ReturnConsumedCapacity'] = params.ReturnConsumedCapacity;
  }
  if (typeof params.Select === 'string') out['dynamodb:Select'] = params.Select;
  return out;
}

const onTable =
  (action: string): RpcRule =>
  (params, ctx) => {
    if (typeof params.TableName !== 'string') throw new Error(`${action} without TableName`);
    const table = tableArn(params.TableName, ctx);
    const resource = typeof params.IndexName === 'string' ? `${table}/index/${params.IndexName}` : table;
    return [{ action, resource, context: dynamoContext(params) }];
  };

/** BatchGetItem, BatchWriteItem: the batch's own action on every table it names. */
const onBatchTables =
  (action: string): RpcRule =>
  (params, ctx) =>
    Object.keys(params.RequestItems ?? {}).map((table) => ({
      action,
      resource: tableArn(table, ctx),
      context: dynamoContext(params),
    }));

const TRANSACT_WRITE_ACTIONS: Record<string, string> = {
  Put: 'dynamodb:PutItem',
  Update: 'dynamodb:UpdateItem',
  Delete: 'dynamodb:DeleteItem',
  ConditionCheck: 'dynamodb:ConditionCheckItem',
};

const DYNAMODB_RULES: Record<string, RpcRule> = {
  GetItem: onTable('dynamodb:GetItem'),
  PutItem: onTable('dynamodb:PutItem'),
  UpdateItem: onTable('dynamodb:UpdateItem'),
  DeleteItem: onTable('dynamodb:DeleteItem'),
  Query: onTable('dynamodb:Query'),
  Scan: onTable('dynamodb:Scan'),
  DescribeTable: onTable('dynamodb:DescribeTable'),
  CreateTable: onTable('dynamodb:CreateTable'),
  DescribeTimeToLive: onTable('dynamodb:DescribeTimeToLive'),
  UpdateTimeToLive: onTable('dynamodb:UpdateTimeToLive'),
  ListTables: () => [{ action: 'dynamodb:ListTables', resource: '*', context: {} }],
  BatchGetItem: onBatchTables('dynamodb:BatchGetItem'),
  BatchWriteItem: onBatchTables('dynamodb:BatchWriteItem'),
  // Transactions have no IAM action of their own: each item needs the action of its kind.
  TransactGetItems: (params, ctx) =>
    (params.TransactItems ?? []).map((item: Json) => ({
      action: 'dynamodb:GetItem',
      resource: tableArn(item.Get?.TableName, ctx),
      context: dynamoContext(params),
    })),
  TransactWriteItems: (params, ctx) =>
    (params.TransactItems ?? []).map((item: Json) => {
      const [kind, body] = Object.entries(item)[0] as [string, Json];
      const action = TRANSACT_WRITE_ACTIONS[kind];
      if (!action) throw new UnknownOperationError('dynamodb', `TransactWriteItems ${kind}`);
      return { action, resource: tableArn(body.TableName, ctx), context: dynamoContext(params) };
    }),
};

// --- Step Functions -------------------------------------------------------------------------------------

const onArn =
  (action: string, field: string): RpcRule =>
  (params) => {
    if (typeof params[field] !== 'string') throw new Error(`${action} without ${field}`);
    return [{ action, resource: params[field], context: {} }];
  };

const STATES_RULES: Record<string, RpcRule> = {
  StartExecution: onArn('states:StartExecution', 'stateMachineArn'),
  StartSyncExecution: onArn('states:StartSyncExecution', 'stateMachineArn'),
  ListExecutions: onArn('states:ListExecutions', 'stateMachineArn'),
  DescribeStateMachine: onArn('states:DescribeStateMachine', 'stateMachineArn'),
  DescribeExecution: onArn('states:DescribeExecution', 'executionArn'),
  DescribeStateMachineForExecution: onArn('states:DescribeStateMachineForExecution', 'executionArn'),
  GetExecutionHistory: onArn('states:GetExecutionHistory', 'executionArn'),
  StopExecution: onArn('states:StopExecution', 'executionArn'),
  RedriveExecution: onArn('states:RedriveExecution', 'executionArn'),
  ListStateMachines: () => [{ action: 'states:ListStateMachines', resource: '*', context: {} }],
};

// --- SNS, SQS, Secrets Manager, KMS -------------------------------------------------------------------

/** The KMS checks a service makes on a caller's behalf: kms:ViaService names the service. */
function kmsVia(service: string, keyArn: string, actions: string[], ctx: TableContext, errorCode?: string) {
  return actions.map(
    (action): Check => ({
      action,
      resource: keyArn,
      context: {
        'kms:ViaService': `${service}.${ctx.region}.amazonaws.com`,
        'kms:CallerAccount': ctx.account,
      },
      ...(errorCode ? { errorCode } : {}),
    }),
  );
}

const SNS_RULES: Record<string, RpcRule> = {
  // Publishing to a topic with SSE-KMS: publishers need kms:GenerateDataKey* and kms:Decrypt on its key (SNS
  // developer guide, sns/latest/dg/sns-key-management.html); SNS answers a failure there with KMSAccessDenied.
  Publish: (params, ctx) => {
    const topic = params.TopicArn ?? params.TargetArn;
    if (typeof topic !== 'string') throw new UnknownOperationError('sns', 'Publish without TopicArn (SMS)');
    const checks: Check[] = [{ action: 'sns:Publish', resource: topic, context: {} }];
    const key = ctx.topics[topic]?.kmsKeyArn;
    if (key)
      checks.push(...kmsVia('sns', key, ['kms:GenerateDataKey', 'kms:Decrypt'], ctx, 'KMSAccessDenied'));
    return checks;
  },
};

/** `https://sqs.<region>.amazonaws.com/<account>/<name>` → `arn:aws:sqs:<region>:<account>:<name>`. */
export function queueArn(queueUrl: string, ctx: TableContext): string {
  const match = /^https?:\/\/[^/]+\/(\d{12})\/([^/?]+)/.exec(queueUrl);
  if (!match) throw new Error(`${queueUrl} is not a queue URL`);
  return `arn:aws:sqs:${ctx.region}:${match[1]}:${match[2]}`;
}

const SQS_RULES: Record<string, RpcRule> = {
  SendMessage: (params, ctx) => [
    { action: 'sqs:SendMessage', resource: queueArn(String(params.QueueUrl), ctx), context: {} },
  ],
  SendMessageBatch: (params, ctx) => [
    { action: 'sqs:SendMessage', resource: queueArn(String(params.QueueUrl), ctx), context: {} },
  ],
};

/**
 * A SecretId (name, partial ARN without the random suffix, or full ARN) as the full ARN of a known secret;
 * an unknown one as the ARN it would have without suffix (a policy on the real ARN cannot match it).
 */
export function secretArn(
  secretId: string,
  ctx: Pick<TableContext, 'secrets' | 'region' | 'account'>,
): string {
  for (const [arn, secret] of Object.entries(ctx.secrets)) {
    if (secretId === arn || secretId === secret.name || arn.startsWith(`${secretId}-`)) return arn;
  }
  return secretId.startsWith('arn:')
    ? secretId
    : `arn:aws:secretsmanager:${ctx.region}:${ctx.account}:secret:${secretId}`;
}

const onSecret =
  (action: string): RpcRule =>
  (params, ctx) => {
    if (typeof params.SecretId !== 'string') throw new Error(`${action} without SecretId`);
    const resource = secretArn(params.SecretId, ctx);
    const context: Record<string, string> = { 'secretsmanager:SecretId': resource };
    if (typeof params.VersionId === 'string') context['secretsmanager:VersionId'] = params.VersionId;
    if (typeof params.VersionStage === 'string') context['secretsmanager:VersionStage'] = params.VersionStage;
    const checks: Check[] = [{ action, resource, context }];
    // A secret under a customer key is decrypted with the caller's permissions through Secrets Manager.
    const key = ctx.secrets[resource]?.kmsKeyArn;
    if (key && action === 'secretsmanager:GetSecretValue') {
      checks.push(
        ...kmsVia('secretsmanager', key, ['kms:Decrypt'], ctx).map((check) => ({
          ...check,
          context: { ...check.context, 'kms:EncryptionContext:SecretARN': resource },
        })),
      );
    }
    return checks;
  };

const SECRETSMANAGER_RULES: Record<string, RpcRule> = {
  GetSecretValue: onSecret('secretsmanager:GetSecretValue'),
  DescribeSecret: onSecret('secretsmanager:DescribeSecret'),
};

/** KeyId as key ARN; aliases are not resolvable locally (the template defines none). */
function keyArnOf(params: Record<string, Json>, operation: string, ctx: TableContext): string {
  const keyId = params.KeyId;
  if (typeof keyId !== 'string') {
    throw new UnknownOperationError('kms', `${operation} without KeyId (the key is only in the ciphertext)`);
  }
  if (keyId.startsWith('arn:') && keyId.includes(':key/')) return keyId;
  if (keyId.startsWith('alias/') || keyId.includes(':alias/')) {
    throw new UnknownOperationError('kms', `${operation} with an alias (${keyId})`);
  }
  return `arn:aws:kms:${ctx.region}:${ctx.account}:key/${keyId}`;
}

const onKey =
  (action: string, operation: string): RpcRule =>
  (params, ctx) => [{ action, resource: keyArnOf(params, operation, ctx), context: {} }];

const KMS_RULES: Record<string, RpcRule> = {
  Decrypt: onKey('kms:Decrypt', 'Decrypt'),
  Encrypt: onKey('kms:Encrypt', 'Encrypt'),
  GenerateDataKey: onKey('kms:GenerateDataKey', 'GenerateDataKey'),
};

const RPC_RULES: Record<string, Record<string, RpcRule>> = {
  dynamodb: DYNAMODB_RULES,
  states: STATES_RULES,
  sns: SNS_RULES,
  sqs: SQS_RULES,
  secretsmanager: SECRETSMANAGER_RULES,
  kms: KMS_RULES,
};

/** Whether the table has an entry for this operation (the gateway asks before it reads a body). */
export function knowsOperation(service: string, operation: string): boolean {
  return service === 's3' ? operation in S3_RULES : operation in (RPC_RULES[service] ?? {});
}

/** The checks AWS makes for a request, in the order it makes them; throws for an unknown operation. */
export function checksFor(request: AwsRequest, ctx: TableContext): Check[] {
  if ('s3' in request) {
    const rule = S3_RULES[request.operation];
    if (!rule) throw new UnknownOperationError('s3', request.operation);
    return rule(request.s3, ctx);
  }
  const rule = RPC_RULES[request.service]?.[request.operation];
  if (!rule) throw new UnknownOperationError(request.service, request.operation);
  return rule(request.params, ctx);
}
