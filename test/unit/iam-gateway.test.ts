// The gateway end to end with real SDK v3 clients on default settings: S3 through it to the embedded S3 server,
// DynamoDB to dynalite, Step Functions to a stub, Secrets Manager and SNS against its built-ins; allowed calls
// go through, refused ones fail with the error AWS gives (name, status, message).
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectAclCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { Upload } from '@aws-sdk/lib-storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startDynalite } from '../../local/dynamo.ts';
import {
  type AwsGateway,
  type GatewayDecision,
  type PublishedMessage,
  startAwsGateway,
} from '../../local/iam/gateway.ts';
import type {
  FunctionPrincipal,
  PolicyDocument,
  TemplatePolicies,
} from '../../local/iam/template-policies.ts';
import { type S3Server, startS3Server } from '../../local/s3-server/index.ts';

const ACCOUNT = '000000000000';
const BUCKET = 'gw-bucket';
const TABLE = 'gw-table';
const MACHINE = `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:Pipeline`;
const TOPIC = `arn:aws:sns:us-east-1:${ACCOUNT}:Outcomes`;
const KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/TopicKey`;
const SECRET = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:app/creds-AbCdEf`;
const MiB = 1024 * 1024;

const allow = (action: string | string[], resource: string | string[], condition?: object) => ({
  Effect: 'Allow',
  Action: action,
  Resource: resource,
  ...(condition ? { Condition: condition } : {}),
});
const doc = (...statements: object[]): PolicyDocument => ({ Version: '2012-10-17', Statement: statements });

function principal(name: string, ...statements: object[]): FunctionPrincipal {
  const id = name.replace(/(^|-)(\w)/g, (_, __, c: string) => c.toUpperCase());
  return {
    function: name,
    functionLogicalId: `${id}Function`,
    roleLogicalId: `${id}Role`,
    roleArn: `arn:aws:iam::${ACCOUNT}:role/${id}Role`,
    sessionArn: `arn:aws:sts::${ACCOUNT}:assumed-role/${id}Role/${id}Function`,
    accountId: ACCOUNT,
    identityPolicies: statements.length ? [{ name: `${id}Policy`, policy: doc(...statements) }] : [],
  };
}

const secureTransportOnly = (resources: string[], action: string) =>
  doc({
    Effect: 'Deny',
    Principal: { AWS: '*' },
    Action: action,
    Resource: resources,
    Condition: { Bool: { 'aws:SecureTransport': 'false' } },
  });

const policies: TemplatePolicies = {
  functions: {},
  resourcePolicies: {
    [`arn:aws:s3:::${BUCKET}`]: {
      logicalId: 'BucketPolicy',
      policy: secureTransportOnly([`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`], 's3:*'),
    },
    [TOPIC]: { logicalId: 'TopicPolicy', policy: secureTransportOnly([TOPIC], 'sns:Publish') },
    [KEY]: {
      logicalId: 'TopicKey',
      policy: doc({
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
        Action: 'kms:*',
        Resource: '*',
      }),
    },
  },
  topics: { [TOPIC]: { logicalId: 'Outcomes', kmsKeyArn: KEY } },
  secrets: { [SECRET]: { logicalId: 'Secret', name: 'app/creds' } },
  keys: { [KEY]: { logicalId: 'TopicKey' } },
};

/** Reads and writes work/, may list work/ only; calls the other services. */
const writer = principal(
  'writer',
  allow(
    ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:DeleteObject'],
    `arn:aws:s3:::${BUCKET}/work/*`,
  ),
  allow('s3:ListBucket', `arn:aws:s3:::${BUCKET}`, { StringLike: { 's3:prefix': ['work/*'] } }),
  allow(['dynamodb:GetItem', 'dynamodb:PutItem'], `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/${TABLE}`),
  allow('states:StartExecution', MACHINE),
  allow('secretsmanager:GetSecretValue', `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:app/*`),
  allow('sns:Publish', TOPIC),
  allow(['kms:GenerateDataKey*', 'kms:Decrypt'], KEY),
);
/** Reads work/ and may list the whole bucket. */
const lister = principal(
  'lister',
  allow('s3:GetObject', `arn:aws:s3:::${BUCKET}/work/*`),
  allow('s3:ListBucket', `arn:aws:s3:::${BUCKET}`),
);
/** May publish but not use the topic's key. */
const noKey = principal('no-key', allow('sns:Publish', TOPIC));
const nobody = principal('nobody');

let dataDir: string;
let s3Server: S3Server;
let dynamo: LocalDynamo;
let sfnStub: Server;
let gateway: AwsGateway;
const decisions: GatewayDecision[] = [];
const published: PublishedMessage[] = [];

const credentials = (accessKeyId: string) => ({ accessKeyId, secretAccessKey: 'any' });
const s3For = (key: string) =>
  new S3Client({
    region: 'us-east-1',
    endpoint: gateway.url,
    forcePathStyle: true,
    credentials: credentials(key),
  });
const clientFor = <T>(Client: new (config: object) => T, key: string): T =>
  new Client({ region: 'us-east-1', endpoint: gateway.url, credentials: credentials(key) });

interface SdkError {
  name: string;
  message: string;
  $metadata: { httpStatusCode?: number };
}

async function failure(promise: Promise<unknown>): Promise<SdkError> {
  try {
    await promise;
  } catch (error) {
    return error as SdkError;
  }
  throw new Error('expected the call to be refused');
}

const refusal = (who: FunctionPrincipal, action: string, resource: string, quoted = false) =>
  `User: ${who.sessionArn} is not authorized to perform: ${action} on resource: ` +
  `${quoted ? `"${resource}"` : resource} because no identity-based policy allows the ${action} action`;

async function startSfnStub(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const input = JSON.parse(body) as { stateMachineArn: string; name?: string };
      res.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.0' });
      res.end(
        JSON.stringify({
          executionArn: `${input.stateMachineArn.replace(':stateMachine:', ':execution:')}:${input.name ?? 'x'}`,
          startDate: Date.now() / 1000,
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'iam-gateway-'));
  s3Server = await startS3Server({ dataDir, buckets: [BUCKET] });
  dynamo = await startDynalite();
  const direct = new DynamoDBClient({ region: 'us-east-1', endpoint: dynamo.endpoint });
  await direct.send(
    new CreateTableCommand({
      TableName: TABLE,
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  direct.destroy();
  const stub = await startSfnStub();
  sfnStub = stub.server;
  gateway = await startAwsGateway({
    policies,
    backends: { s3: s3Server.url, dynamodb: dynamo.endpoint, states: stub.url },
    secrets: { [SECRET]: '{"clientId":"c"}' },
    onPublish: (message) => {
      published.push(message);
    },
    onDecision: (decision) => decisions.push(decision),
  });
  gateway.registerPrincipal('AKIDWRITER', writer);
  gateway.registerPrincipal('AKIDLISTER', lister);
  gateway.registerPrincipal('AKIDNOKEY', noKey);
  gateway.registerPrincipal('AKIDNOBODY', nobody);
});

afterAll(async () => {
  await gateway?.close();
  await s3Server?.close();
  await dynamo?.close();
  await new Promise((resolve) => sfnStub?.close(resolve));
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the gateway in front of S3', () => {
  it('passes allowed reads and writes through to the backend', async () => {
    const s3 = s3For('AKIDWRITER');
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'work/a b.txt', Body: 'hello' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'work/a b.txt' }));
    expect(await got.Body?.transformToString()).toBe('hello');
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'work/a b.txt' }));
    expect(head.ContentLength).toBe(5);
    await s3.send(
      new CopyObjectCommand({ Bucket: BUCKET, Key: 'work/copy.txt', CopySource: `${BUCKET}/work/a%20b.txt` }),
    );
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'work/' }));
    expect(listed.Contents?.map((o) => o.Key).sort()).toEqual(['work/a b.txt', 'work/copy.txt']);
    // DeleteObjects is decided key by key: the allowed keys are deleted, each refused one reported, as S3 does.
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'work/gone', Body: 'x' }));
    const deleted = await s3.send(
      new DeleteObjectsCommand({
        Bucket: BUCKET,
        Delete: { Objects: [{ Key: 'work/gone' }, { Key: 'other/kept' }] },
      }),
    );
    expect(deleted.Deleted?.map((d) => d.Key)).toEqual(['work/gone']);
    expect(deleted.Errors).toEqual([{ Key: 'other/kept', Code: 'AccessDenied', Message: 'Access Denied' }]);
    expect(
      decisions.filter((d) => d.operation === 'DeleteObjects').map((d) => [d.resource, d.allowed]),
    ).toEqual([
      [`arn:aws:s3:::${BUCKET}/work/gone`, true],
      [`arn:aws:s3:::${BUCKET}/other/kept`, false],
    ]);
    expect(
      decisions.filter((d) => d.operation === 'CopyObject' && d.action === 's3:PutObject').at(-1),
    ).toMatchObject({
      service: 's3',
      operation: 'CopyObject',
      resource: `arn:aws:s3:::${BUCKET}/work/copy.txt`,
      allowed: true,
    });
  });

  it('refuses as S3 does: AccessDenied, 403, AWS wording naming the function', async () => {
    const s3 = s3For('AKIDWRITER');
    const denied = await failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'other/x' })));
    expect(denied.name).toBe('AccessDenied');
    expect(denied.$metadata.httpStatusCode).toBe(403);
    expect(denied.message).toBe(refusal(writer, 's3:GetObject', `arn:aws:s3:::${BUCKET}/other/x`, true));
    expect(decisions.at(-1)).toMatchObject({
      function: 'writer',
      operation: 'GetObject',
      action: 's3:GetObject',
      allowed: false,
      message: denied.message,
    });

    const head = await failure(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'other/x' })));
    expect(head.$metadata.httpStatusCode).toBe(403);

    const copy = await failure(
      s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'work/stolen', CopySource: `${BUCKET}/other/x` })),
    );
    expect(copy.name).toBe('AccessDenied');
    expect(copy.message).toBe(refusal(writer, 's3:GetObject', `arn:aws:s3:::${BUCKET}/other/x`, true));
  });

  it('refuses a large upload before its body is sent, and the client carries on', async () => {
    const s3 = s3For('AKIDWRITER');
    const body = Buffer.alloc(3 * MiB, 7);
    const denied = await failure(
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'other/big', Body: body })),
    );
    expect([denied.name, denied.$metadata.httpStatusCode]).toEqual(['AccessDenied', 403]);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'work/big', Body: body }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'work/big' }));
    expect(head.ContentLength).toBe(body.length);
  });

  it('uploads in parts with lib-storage where allowed, and refuses the upload elsewhere', async () => {
    const s3 = s3For('AKIDWRITER');
    const body = Buffer.alloc(11 * MiB, 1);
    await new Upload({ client: s3, params: { Bucket: BUCKET, Key: 'work/parts.bin', Body: body } }).done();
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'work/parts.bin' }));
    expect(head.ContentLength).toBe(body.length);
    expect(decisions.some((d) => d.operation === 'UploadPart' && d.allowed)).toBe(true);
    expect(decisions.some((d) => d.operation === 'CompleteMultipartUpload' && d.allowed)).toBe(true);

    const denied = await failure(
      new Upload({ client: s3, params: { Bucket: BUCKET, Key: 'other/parts.bin', Body: body } }).done(),
    );
    expect([denied.name, denied.$metadata.httpStatusCode]).toEqual(['AccessDenied', 403]);
    expect(denied.message).toBe(
      refusal(writer, 's3:PutObject', `arn:aws:s3:::${BUCKET}/other/parts.bin`, true),
    );
  });

  it('answers a missing key with 404 only to a caller who may list the bucket, unconditionally', async () => {
    const missing = { Bucket: BUCKET, Key: 'work/missing.json' };
    const listerS3 = s3For('AKIDLISTER');
    const notFound = await failure(listerS3.send(new HeadObjectCommand(missing)));
    expect([notFound.name, notFound.$metadata.httpStatusCode]).toEqual(['NotFound', 404]);
    const noSuchKey = await failure(listerS3.send(new GetObjectCommand(missing)));
    expect([noSuchKey.name, noSuchKey.$metadata.httpStatusCode]).toEqual(['NoSuchKey', 404]);

    // The writer's ListBucket is conditioned on s3:prefix: it does not count for a read.
    const writerS3 = s3For('AKIDWRITER');
    const head = await failure(writerS3.send(new HeadObjectCommand(missing)));
    expect(head.$metadata.httpStatusCode).toBe(403);
    const get = await failure(writerS3.send(new GetObjectCommand(missing)));
    expect([get.name, get.$metadata.httpStatusCode]).toEqual(['AccessDenied', 403]);
    expect(get.message).toBe(refusal(writer, 's3:ListBucket', `arn:aws:s3:::${BUCKET}`, true));
  });

  it('lists where the prefix condition allows it', async () => {
    const s3 = s3For('AKIDWRITER');
    await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'work/' }));
    const denied = await failure(s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'other/' })));
    expect([denied.name, denied.$metadata.httpStatusCode]).toEqual(['AccessDenied', 403]);
    expect(denied.message).toBe(refusal(writer, 's3:ListBucket', `arn:aws:s3:::${BUCKET}`, true));
  });
});

describe('the gateway in front of the JSON services', () => {
  it('passes allowed DynamoDB calls to dynalite and refuses the others with AccessDeniedException', async () => {
    const db = clientFor(DynamoDBClient, 'AKIDWRITER');
    await db.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'a' }, n: { N: '1' } } }));
    const got = await db.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'a' } } }));
    expect(got.Item?.n?.N).toBe('1');

    const denied = await failure(
      clientFor(DynamoDBClient, 'AKIDNOBODY').send(
        new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'a' } } }),
      ),
    );
    expect([denied.name, denied.$metadata.httpStatusCode]).toEqual(['AccessDeniedException', 400]);
    expect(denied.message).toBe(
      refusal(nobody, 'dynamodb:GetItem', `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/${TABLE}`),
    );
  });

  it('passes an allowed StartExecution to the Step Functions backend', async () => {
    const sfn = clientFor(SFNClient, 'AKIDWRITER');
    const started = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'run-1', input: '{}' }),
    );
    expect(started.executionArn).toBe(`arn:aws:states:us-east-1:${ACCOUNT}:execution:Pipeline:run-1`);
    const other = MACHINE.replace('Pipeline', 'Other');
    const denied = await failure(sfn.send(new StartExecutionCommand({ stateMachineArn: other })));
    expect([denied.name, denied.$metadata.httpStatusCode]).toEqual(['AccessDeniedException', 400]);
    expect(denied.message).toBe(refusal(writer, 'states:StartExecution', other));
  });

  it('serves GetSecretValue from its map, by name or ARN, and follows putSecretValue', async () => {
    const secrets = clientFor(SecretsManagerClient, 'AKIDWRITER');
    const byName = await secrets.send(new GetSecretValueCommand({ SecretId: 'app/creds' }));
    expect([byName.ARN, byName.Name, byName.SecretString]).toEqual([SECRET, 'app/creds', '{"clientId":"c"}']);
    gateway.putSecretValue(SECRET, '{"clientId":"d"}');
    const byArn = await secrets.send(new GetSecretValueCommand({ SecretId: SECRET }));
    expect(byArn.SecretString).toBe('{"clientId":"d"}');

    const missing = await failure(secrets.send(new GetSecretValueCommand({ SecretId: 'app/missing' })));
    expect([missing.name, missing.$metadata.httpStatusCode]).toEqual(['ResourceNotFoundException', 400]);
    const denied = await failure(
      clientFor(SecretsManagerClient, 'AKIDNOBODY').send(
        new GetSecretValueCommand({ SecretId: 'app/creds' }),
      ),
    );
    expect([denied.name, denied.$metadata.httpStatusCode]).toEqual(['AccessDeniedException', 400]);
    expect(denied.message).toBe(refusal(nobody, 'secretsmanager:GetSecretValue', SECRET));
  });
});

describe('the gateway in front of SNS', () => {
  it('hands an allowed Publish to onPublish and answers its MessageId', async () => {
    const sns = clientFor(SNSClient, 'AKIDWRITER');
    const answer = await sns.send(
      new PublishCommand({
        TopicArn: TOPIC,
        Subject: 'Done',
        MessageStructure: 'json',
        Message: JSON.stringify({ default: '{}', email: 'text' }),
        MessageAttributes: { outcome: { DataType: 'String', StringValue: 'SUCCEEDED' } },
      }),
    );
    expect(answer.MessageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(published.at(-1)).toEqual({
      function: 'writer',
      topicArn: TOPIC,
      subject: 'Done',
      message: JSON.stringify({ default: '{}', email: 'text' }),
      messageStructure: 'json',
      messageAttributes: { outcome: { dataType: 'String', stringValue: 'SUCCEEDED' } },
    });
  });

  it('refuses a publisher without the topic with AuthorizationError, one without its key with KMSAccessDenied', async () => {
    const denied = await failure(
      clientFor(SNSClient, 'AKIDNOBODY').send(new PublishCommand({ TopicArn: TOPIC, Message: 'm' })),
    );
    expect([denied.name, denied.$metadata.httpStatusCode]).toEqual(['AuthorizationErrorException', 403]);
    expect(denied.message).toBe(
      `User: ${nobody.sessionArn} is not authorized to perform: SNS:Publish on resource: ${TOPIC} ` +
        'because no identity-based policy allows the SNS:Publish action',
    );
    const keyless = await failure(
      clientFor(SNSClient, 'AKIDNOKEY').send(new PublishCommand({ TopicArn: TOPIC, Message: 'm' })),
    );
    expect([keyless.name, keyless.$metadata.httpStatusCode]).toEqual(['KMSAccessDeniedException', 400]);
    expect(keyless.message).toBe(refusal(noKey, 'kms:GenerateDataKey', KEY));
  });
});

describe('the gateway refusing what it cannot vouch for', () => {
  it('answers an unknown access key as each service does', async () => {
    const s3 = await failure(
      s3For('AKIDSTRANGER').send(new GetObjectCommand({ Bucket: BUCKET, Key: 'work/a b.txt' })),
    );
    expect([s3.name, s3.$metadata.httpStatusCode]).toEqual(['InvalidAccessKeyId', 403]);
    const db = await failure(
      clientFor(DynamoDBClient, 'AKIDSTRANGER').send(
        new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'a' } } }),
      ),
    );
    expect([db.name, db.$metadata.httpStatusCode]).toEqual(['UnrecognizedClientException', 400]);
    const sns = await failure(
      clientFor(SNSClient, 'AKIDSTRANGER').send(new PublishCommand({ TopicArn: TOPIC, Message: 'm' })),
    );
    expect([sns.name, sns.$metadata.httpStatusCode]).toEqual(['InvalidClientTokenId', 403]);
  });

  it('fails an operation missing from the table loudly, naming it, instead of letting it through', async () => {
    const failed = await failure(
      s3For('AKIDWRITER').send(new GetObjectAclCommand({ Bucket: BUCKET, Key: 'work/a b.txt' })),
    );
    expect([failed.name, failed.$metadata.httpStatusCode]).toEqual(['NotImplemented', 501]);
    expect(failed.message).toMatch(/s3 GET \?acl \(object\) is not in the IAM action table/);
    expect(decisions.at(-1)).toMatchObject({
      function: 'writer',
      service: 's3',
      operation: 'GET ?acl (object)',
      allowed: false,
    });
  });
});
