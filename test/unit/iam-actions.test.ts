// The action table against the requests the real SDK v3 clients produce: each command's IAM checks
// (action, resource, condition keys), and a loud error for a command the table does not know.
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ListBackupsCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  TransactGetItemsCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketLocationCommand,
  GetObjectAclCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  ListPartsCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  RedriveExecutionCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  type AwsRequest,
  type Check,
  checksFor,
  type TableContext,
  UnknownOperationError,
} from '../../local/iam/actions.ts';
import {
  parseCredential,
  parseDeleteObjects,
  parseRpcRequest,
  parseS3Request,
  protocolOf,
} from '../../local/iam/requests.ts';
import { type CapturedRequest, capture, captureHandler } from './support/captured-request.ts';

const ACCOUNT = '000000000000';
const TOPIC = `arn:aws:sns:us-east-1:${ACCOUNT}:Outcomes`;
const PLAIN_TOPIC = `arn:aws:sns:us-east-1:${ACCOUNT}:Plain`;
const KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/TopicKey`;
const SECRET = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:app/credentials-AbCdEf`;
const SEALED_SECRET = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:sealed-AbCdEf`;
const SECRET_KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/SecretKey`;
const MACHINE = `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:Pipeline`;
const EXECUTION = `arn:aws:states:us-east-1:${ACCOUNT}:execution:Pipeline:run-1`;
const TABLE = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/registry`;

const table: TableContext = {
  region: 'us-east-1',
  account: ACCOUNT,
  topics: { [TOPIC]: { kmsKeyArn: KEY }, [PLAIN_TOPIC]: {} },
  secrets: {
    [SECRET]: { name: 'app/credentials' },
    [SEALED_SECRET]: { name: 'sealed', kmsKeyArn: SECRET_KEY },
  },
};

const clientConfig = {
  region: 'us-east-1',
  endpoint: 'http://127.0.0.1:1',
  credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
  requestHandler: captureHandler,
};
const s3 = new S3Client({ ...clientConfig, forcePathStyle: true });
const dynamo = new DynamoDBClient(clientConfig);
const documents = DynamoDBDocumentClient.from(dynamo);
const sfn = new SFNClient(clientConfig);
const sns = new SNSClient(clientConfig);
const secrets = new SecretsManagerClient(clientConfig);

/** What the gateway does with a request before authorizing it: scope, protocol, operation, checks. */
function requestOf(captured: CapturedRequest): AwsRequest {
  const credential = parseCredential(captured.headers, new URLSearchParams());
  if (!credential) throw new Error('the SDK did not sign the request');
  const protocol = protocolOf(credential.service, captured.headers);
  if (protocol === 'rest-xml') {
    const { operation, input } = parseS3Request(captured.method, captured.url, captured.headers, false);
    if (operation === 'DeleteObjects') input.objects = parseDeleteObjects(captured.body);
    return { service: 's3', operation, s3: input };
  }
  const { operation, params } = parseRpcRequest(protocol, captured.headers, captured.body);
  return { service: credential.service, operation, params };
}

async function checksOf(send: () => Promise<unknown>, ctx: TableContext = table): Promise<Check[]> {
  return checksFor(requestOf(await capture(send)), ctx);
}

/** Action and resource of each check, the shape most assertions need. */
const pairs = (checks: Check[]) => checks.map((c) => [c.action, c.resource]);

describe('the action table, S3', () => {
  it('reads an object with s3:GetObject, a version with s3:GetObjectVersion alone', async () => {
    const key = 'incoming/team a/Ünïcode+file.csv';
    const checks = await checksOf(() => s3.send(new GetObjectCommand({ Bucket: 'b', Key: key })));
    expect(pairs(checks)).toEqual([['s3:GetObject', `arn:aws:s3:::b/${key}`]]);
    expect(checks[0]?.context).toMatchObject({ 's3:authType': 'REST-HEADER', 's3:ResourceAccount': ACCOUNT });

    const version = await checksOf(() =>
      s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'k', VersionId: 'v1' })),
    );
    expect(pairs(version)).toEqual([['s3:GetObjectVersion', 'arn:aws:s3:::b/k']]);
    expect(version[0]?.context['s3:versionid']).toBe('v1');
  });

  it('checks a HEAD as the read it stands for', async () => {
    expect(pairs(await checksOf(() => s3.send(new HeadObjectCommand({ Bucket: 'b', Key: 'k' }))))).toEqual([
      ['s3:GetObject', 'arn:aws:s3:::b/k'],
    ]);
    expect(
      pairs(await checksOf(() => s3.send(new HeadObjectCommand({ Bucket: 'b', Key: 'k', VersionId: 'v' })))),
    ).toEqual([['s3:GetObjectVersion', 'arn:aws:s3:::b/k']]);
  });

  it('writes with s3:PutObject, and tags with s3:PutObjectTagging too', async () => {
    const plain = await checksOf(() =>
      s3.send(new PutObjectCommand({ Bucket: 'b', Key: 'out/x', Body: 'x' })),
    );
    expect(pairs(plain)).toEqual([['s3:PutObject', 'arn:aws:s3:::b/out/x']]);

    const tagged = await checksOf(() =>
      s3.send(new PutObjectCommand({ Bucket: 'b', Key: 'out/x', Body: 'x', Tagging: 'stage=done&team=a' })),
    );
    expect(pairs(tagged)).toEqual([
      ['s3:PutObject', 'arn:aws:s3:::b/out/x'],
      ['s3:PutObjectTagging', 'arn:aws:s3:::b/out/x'],
    ]);
    expect(tagged[1]?.context).toMatchObject({
      's3:RequestObjectTagKeys': ['stage', 'team'],
      's3:RequestObjectTag/stage': 'done',
    });
  });

  it('copies: reads the source (its version when named) and writes the target', async () => {
    const copy = await checksOf(() =>
      s3.send(
        new CopyObjectCommand({ Bucket: 'b', Key: 'processed/f.csv', CopySource: 'b/incoming/f%20a.csv' }),
      ),
    );
    expect(pairs(copy)).toEqual([
      ['s3:GetObject', 'arn:aws:s3:::b/incoming/f a.csv'],
      ['s3:PutObject', 'arn:aws:s3:::b/processed/f.csv'],
    ]);
    expect(copy[1]?.context['s3:x-amz-copy-source']).toBe('b/incoming/f%20a.csv');

    const version = await checksOf(() =>
      s3.send(new CopyObjectCommand({ Bucket: 'b', Key: 't', CopySource: 'b/s?versionId=v7' })),
    );
    expect(pairs(version)).toEqual([
      ['s3:GetObjectVersion', 'arn:aws:s3:::b/s'],
      ['s3:PutObject', 'arn:aws:s3:::b/t'],
    ]);
  });

  it('copies a tagged source with the tagging permissions on both sides (default COPY directive)', async () => {
    const send = () =>
      s3.send(new CopyObjectCommand({ Bucket: 'b', Key: 't', CopySource: 'b/s?versionId=v7' }));
    expect(pairs(await checksOf(send, { ...table, copySourceHasTags: true }))).toEqual([
      ['s3:GetObjectVersion', 'arn:aws:s3:::b/s'],
      ['s3:PutObject', 'arn:aws:s3:::b/t'],
      ['s3:GetObjectVersionTagging', 'arn:aws:s3:::b/s'],
      ['s3:PutObjectTagging', 'arn:aws:s3:::b/t'],
    ]);
    // REPLACE takes the request's tags instead: nothing is read from the source's tags.
    const replace = await checksOf(
      () =>
        s3.send(
          new CopyObjectCommand({
            Bucket: 'b',
            Key: 't',
            CopySource: 'b/s',
            TaggingDirective: 'REPLACE',
            Tagging: 'a=1',
          }),
        ),
      { ...table, copySourceHasTags: true },
    );
    expect(pairs(replace)).toEqual([
      ['s3:GetObject', 'arn:aws:s3:::b/s'],
      ['s3:PutObject', 'arn:aws:s3:::b/t'],
      ['s3:PutObjectTagging', 'arn:aws:s3:::b/t'],
    ]);
  });

  it('checks the multipart operations', async () => {
    const key = { Bucket: 'b', Key: 'big/file' };
    const arn = 'arn:aws:s3:::b/big/file';
    expect(pairs(await checksOf(() => s3.send(new CreateMultipartUploadCommand(key))))).toEqual([
      ['s3:PutObject', arn],
    ]);
    expect(
      pairs(
        await checksOf(() =>
          s3.send(new UploadPartCommand({ ...key, UploadId: 'u', PartNumber: 1, Body: 'x' })),
        ),
      ),
    ).toEqual([['s3:PutObject', arn]]);
    expect(
      pairs(
        await checksOf(() =>
          s3.send(
            new UploadPartCopyCommand({
              ...key,
              UploadId: 'u',
              PartNumber: 1,
              CopySource: 'b/src?versionId=v2',
              CopySourceRange: 'bytes=0-9',
            }),
          ),
        ),
      ),
    ).toEqual([
      ['s3:GetObjectVersion', 'arn:aws:s3:::b/src'],
      ['s3:PutObject', arn],
    ]);
    expect(
      pairs(
        await checksOf(() =>
          s3.send(
            new CompleteMultipartUploadCommand({
              ...key,
              UploadId: 'u',
              MultipartUpload: { Parts: [{ ETag: '"e"', PartNumber: 1 }] },
            }),
          ),
        ),
      ),
    ).toEqual([['s3:PutObject', arn]]);
    expect(
      pairs(await checksOf(() => s3.send(new AbortMultipartUploadCommand({ ...key, UploadId: 'u' })))),
    ).toEqual([['s3:AbortMultipartUpload', arn]]);
    expect(pairs(await checksOf(() => s3.send(new ListPartsCommand({ ...key, UploadId: 'u' }))))).toEqual([
      ['s3:ListMultipartUploadParts', arn],
    ]);
  });

  it('deletes with s3:DeleteObject, a version with s3:DeleteObjectVersion, each object of a batch', async () => {
    expect(pairs(await checksOf(() => s3.send(new DeleteObjectCommand({ Bucket: 'b', Key: 'k' }))))).toEqual([
      ['s3:DeleteObject', 'arn:aws:s3:::b/k'],
    ]);
    expect(
      pairs(
        await checksOf(() => s3.send(new DeleteObjectCommand({ Bucket: 'b', Key: 'k', VersionId: 'v' }))),
      ),
    ).toEqual([['s3:DeleteObjectVersion', 'arn:aws:s3:::b/k']]);
    const batch = await checksOf(() =>
      s3.send(
        new DeleteObjectsCommand({
          Bucket: 'b',
          Delete: { Objects: [{ Key: 'a&b<c' }, { Key: 'old', VersionId: 'v3' }] },
        }),
      ),
    );
    expect(pairs(batch)).toEqual([
      ['s3:DeleteObject', 'arn:aws:s3:::b/a&b<c'],
      ['s3:DeleteObjectVersion', 'arn:aws:s3:::b/old'],
    ]);
  });

  it('lists with s3:ListBucket on the bucket, the listing parameters as condition keys', async () => {
    const [all] = await checksOf(() => s3.send(new ListObjectsV2Command({ Bucket: 'b' })));
    expect([all?.action, all?.resource]).toEqual(['s3:ListBucket', 'arn:aws:s3:::b']);
    expect(all?.context['s3:prefix']).toBe('');

    const [some] = await checksOf(() =>
      s3.send(new ListObjectsV2Command({ Bucket: 'b', Prefix: 'staging/', Delimiter: '/', MaxKeys: 10 })),
    );
    expect(some?.context).toMatchObject({
      's3:prefix': 'staging/',
      's3:delimiter': '/',
      's3:max-keys': '10',
    });

    const [v1] = await checksOf(() => s3.send(new ListObjectsCommand({ Bucket: 'b', Prefix: 'p/' })));
    expect([v1?.action, v1?.context['s3:prefix']]).toEqual(['s3:ListBucket', 'p/']);

    const [versions] = await checksOf(() =>
      s3.send(new ListObjectVersionsCommand({ Bucket: 'b', Prefix: 'p/' })),
    );
    expect([versions?.action, versions?.resource]).toEqual(['s3:ListBucketVersions', 'arn:aws:s3:::b']);
  });

  it('checks the bucket and tagging operations', async () => {
    expect(pairs(await checksOf(() => s3.send(new HeadBucketCommand({ Bucket: 'b' }))))).toEqual([
      ['s3:ListBucket', 'arn:aws:s3:::b'],
    ]);
    expect(pairs(await checksOf(() => s3.send(new GetBucketLocationCommand({ Bucket: 'b' }))))).toEqual([
      ['s3:GetBucketLocation', 'arn:aws:s3:::b'],
    ]);
    expect(
      pairs(await checksOf(() => s3.send(new GetObjectTaggingCommand({ Bucket: 'b', Key: 'k' })))),
    ).toEqual([['s3:GetObjectTagging', 'arn:aws:s3:::b/k']]);
    expect(
      pairs(
        await checksOf(() =>
          s3.send(
            new PutObjectTaggingCommand({ Bucket: 'b', Key: 'k', VersionId: 'v', Tagging: { TagSet: [] } }),
          ),
        ),
      ),
    ).toEqual([['s3:PutObjectVersionTagging', 'arn:aws:s3:::b/k']]);
  });

  it('refuses a command it does not know, naming service and operation', async () => {
    const failure = checksOf(() => s3.send(new GetObjectAclCommand({ Bucket: 'b', Key: 'k' })));
    await expect(failure).rejects.toThrow(UnknownOperationError);
    await expect(failure).rejects.toThrow(/s3 GET \?acl \(object\) is not in the IAM action table/);
  });
});

describe('the action table, DynamoDB', () => {
  const Key = { pk: { S: 'a' } };

  it('checks each item operation on the table ARN', async () => {
    const commands = [
      ['dynamodb:GetItem', new GetItemCommand({ TableName: 'registry', Key })],
      ['dynamodb:PutItem', new PutItemCommand({ TableName: 'registry', Item: Key })],
      ['dynamodb:UpdateItem', new UpdateItemCommand({ TableName: 'registry', Key, ReturnValues: 'ALL_NEW' })],
      ['dynamodb:DeleteItem', new DeleteItemCommand({ TableName: 'registry', Key })],
      ['dynamodb:Scan', new ScanCommand({ TableName: 'registry' })],
      ['dynamodb:DescribeTable', new DescribeTableCommand({ TableName: 'registry' })],
    ] as const;
    for (const [action, command] of commands) {
      // biome-ignore lint/suspicious/noExplicitAny: one loop over commands of different input types.
      expect(pairs(await checksOf(() => dynamo.send(command as any)))).toEqual([[action, TABLE]]);
    }
    const [update] = await checksOf(() =>
      dynamo.send(new UpdateItemCommand({ TableName: 'registry', Key, ReturnValues: 'ALL_NEW' })),
    );
    expect(update?.context['dynamodb:ReturnValues']).toBe('ALL_NEW');
  });

  it('checks the document client as the operations it sends', async () => {
    expect(
      pairs(
        await checksOf(() => documents.send(new GetCommand({ TableName: 'registry', Key: { pk: 'a' } }))),
      ),
    ).toEqual([['dynamodb:GetItem', TABLE]]);
    expect(
      pairs(
        await checksOf(() =>
          documents.send(
            new UpdateCommand({
              TableName: 'registry',
              Key: { pk: 'a' },
              UpdateExpression: 'SET n = :n',
              ExpressionAttributeValues: { ':n': 1 },
            }),
          ),
        ),
      ),
    ).toEqual([['dynamodb:UpdateItem', TABLE]]);
  });

  it('checks a query on an index against the index ARN', async () => {
    const checks = await checksOf(() =>
      dynamo.send(
        new QueryCommand({
          TableName: 'registry',
          IndexName: 'byStatus',
          KeyConditionExpression: 's = :s',
          ExpressionAttributeValues: { ':s': { S: 'x' } },
        }),
      ),
    );
    expect(pairs(checks)).toEqual([['dynamodb:Query', `${TABLE}/index/byStatus`]]);
  });

  it('checks batches on every table, transactions item by item', async () => {
    const other = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/other`;
    expect(
      pairs(
        await checksOf(() =>
          dynamo.send(
            new BatchGetItemCommand({ RequestItems: { registry: { Keys: [Key] }, other: { Keys: [Key] } } }),
          ),
        ),
      ),
    ).toEqual([
      ['dynamodb:BatchGetItem', TABLE],
      ['dynamodb:BatchGetItem', other],
    ]);
    expect(
      pairs(
        await checksOf(() =>
          dynamo.send(
            new BatchWriteItemCommand({ RequestItems: { registry: [{ PutRequest: { Item: Key } }] } }),
          ),
        ),
      ),
    ).toEqual([['dynamodb:BatchWriteItem', TABLE]]);
    expect(
      pairs(
        await checksOf(() =>
          dynamo.send(new TransactGetItemsCommand({ TransactItems: [{ Get: { TableName: 'other', Key } }] })),
        ),
      ),
    ).toEqual([['dynamodb:GetItem', other]]);
    expect(
      pairs(
        await checksOf(() =>
          dynamo.send(
            new TransactWriteItemsCommand({
              TransactItems: [
                { Put: { TableName: 'registry', Item: Key } },
                {
                  Update: {
                    TableName: 'registry',
                    Key,
                    UpdateExpression: 'SET n = :n',
                    ExpressionAttributeValues: { ':n': { N: '1' } },
                  },
                },
                { Delete: { TableName: 'other', Key } },
                { ConditionCheck: { TableName: 'other', Key, ConditionExpression: 'attribute_exists(pk)' } },
              ],
            }),
          ),
        ),
      ),
    ).toEqual([
      ['dynamodb:PutItem', TABLE],
      ['dynamodb:UpdateItem', TABLE],
      ['dynamodb:DeleteItem', other],
      ['dynamodb:ConditionCheckItem', other],
    ]);
  });

  it('refuses an operation it does not know', async () => {
    await expect(checksOf(() => dynamo.send(new ListBackupsCommand({})))).rejects.toThrow(
      /dynamodb ListBackups is not in the IAM action table/,
    );
  });
});

describe('the action table, Step Functions', () => {
  it('checks machine operations on the machine, execution operations on the execution', async () => {
    const cases = [
      [
        'states:StartExecution',
        MACHINE,
        () => sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE, input: '{}' })),
      ],
      [
        'states:ListExecutions',
        MACHINE,
        () => sfn.send(new ListExecutionsCommand({ stateMachineArn: MACHINE })),
      ],
      [
        'states:DescribeExecution',
        EXECUTION,
        () => sfn.send(new DescribeExecutionCommand({ executionArn: EXECUTION })),
      ],
      [
        'states:GetExecutionHistory',
        EXECUTION,
        () => sfn.send(new GetExecutionHistoryCommand({ executionArn: EXECUTION })),
      ],
      [
        'states:StopExecution',
        EXECUTION,
        () => sfn.send(new StopExecutionCommand({ executionArn: EXECUTION })),
      ],
      [
        'states:RedriveExecution',
        EXECUTION,
        () => sfn.send(new RedriveExecutionCommand({ executionArn: EXECUTION })),
      ],
    ] as const;
    for (const [action, resource, send] of cases)
      expect(pairs(await checksOf(send))).toEqual([[action, resource]]);
  });
});

describe('the action table, SNS, Secrets Manager, SQS, KMS', () => {
  it('publishes to an encrypted topic with the key checks SNS makes for the caller', async () => {
    const checks = await checksOf(() =>
      sns.send(new PublishCommand({ TopicArn: TOPIC, Message: 'm', Subject: 's' })),
    );
    expect(pairs(checks)).toEqual([
      ['sns:Publish', TOPIC],
      ['kms:GenerateDataKey', KEY],
      ['kms:Decrypt', KEY],
    ]);
    expect(checks[1]).toMatchObject({
      errorCode: 'KMSAccessDenied',
      context: { 'kms:ViaService': 'sns.us-east-1.amazonaws.com' },
    });
    expect(
      pairs(await checksOf(() => sns.send(new PublishCommand({ TopicArn: PLAIN_TOPIC, Message: 'm' })))),
    ).toEqual([['sns:Publish', PLAIN_TOPIC]]);
  });

  it('reads a secret by its full ARN whatever the SecretId names it by', async () => {
    for (const SecretId of [SECRET, 'app/credentials', SECRET.slice(0, -7)]) {
      const checks = await checksOf(() => secrets.send(new GetSecretValueCommand({ SecretId })));
      expect(pairs(checks)).toEqual([['secretsmanager:GetSecretValue', SECRET]]);
    }
    const unknown = await checksOf(() => secrets.send(new GetSecretValueCommand({ SecretId: 'nope' })));
    expect(pairs(unknown)).toEqual([
      ['secretsmanager:GetSecretValue', `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:nope`],
    ]);
  });

  it('decrypts a secret under a customer key with the caller permissions, through Secrets Manager', async () => {
    const checks = await checksOf(() => secrets.send(new GetSecretValueCommand({ SecretId: 'sealed' })));
    expect(pairs(checks)).toEqual([
      ['secretsmanager:GetSecretValue', SEALED_SECRET],
      ['kms:Decrypt', SECRET_KEY],
    ]);
    expect(checks[1]?.context).toMatchObject({
      'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com',
      'kms:EncryptionContext:SecretARN': SEALED_SECRET,
    });
  });

  it('checks SQS and KMS JSON requests (no SDK client of theirs is installed)', () => {
    const json = (target: string, body: unknown) =>
      parseRpcRequest('json-1.0', { 'x-amz-target': target }, JSON.stringify(body));
    const sqs = json('AmazonSQS.SendMessage', {
      QueueUrl: `https://sqs.us-east-1.amazonaws.com/${ACCOUNT}/failures`,
      MessageBody: 'x',
    });
    expect(pairs(checksFor({ service: 'sqs', ...sqs }, table))).toEqual([
      ['sqs:SendMessage', `arn:aws:sqs:us-east-1:${ACCOUNT}:failures`],
    ]);
    for (const [operation, action] of [
      ['Decrypt', 'kms:Decrypt'],
      ['Encrypt', 'kms:Encrypt'],
      ['GenerateDataKey', 'kms:GenerateDataKey'],
    ] as const) {
      const kms = json(`TrentService.${operation}`, { KeyId: 'TopicKey' });
      expect(pairs(checksFor({ service: 'kms', ...kms }, table))).toEqual([[action, KEY]]);
    }
    const noKey = json('TrentService.Decrypt', { CiphertextBlob: 'AAAA' });
    expect(() => checksFor({ service: 'kms', ...noKey }, table)).toThrow(UnknownOperationError);
  });
});
