// Deploying again after `cdk destroy`: the stack adopts the drop bucket, its access-log bucket, the registry table
// and the secret the earlier deployment retained, creates none of them, and grants exactly what it granted before.
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp, readCdkJsonContext } from '../../lib/app-factory.ts';
import { AEP_TASK_NAMES } from '../../lib/constructs/pipeline-tasks.ts';
import { FUNCTION_NAMES } from '../../lib/constructs/task-function.ts';
import { createAuthorizer } from '../../local/iam/authorizer.ts';
import { readTemplatePolicies } from '../../local/iam/template-policies.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../../local/runner/synthesized.ts';
import {
  asArray,
  flatten,
  functionsAllowed,
  functionsByLogicalId,
  type Json,
  policyStatements,
} from './template-helpers.ts';

/** Every function that calls AEP: the five tasks, and the upkeep functions. */
const AEP_CALLERS = [...AEP_TASK_NAMES, 'keep-alive', 'delete-audience'];
const BUCKET = 'acme-audience-drop';
const LOGS_BUCKET = 'acme-audience-drop-logs';
const TABLE = 'AepAudiencePipeline-AudienceRegistryTable77485D70-1A2B3C4D5E6F';
const SECRET_ARN =
  'arn:aws:secretsmanager:eu-west-1:123456789012:secret:aep-audience-pipeline/aep-credentials-AbCdEf';
const BUCKET_ARN = `arn:<AWS::Partition>:s3:::${BUCKET}`;
const TABLE_ARN = `arn:<AWS::Partition>:dynamodb:<AWS::Region>:<AWS::AccountId>:table/${TABLE}`;

/** The configuration of cdk.json with `overrides`, and without the keys `removed` (which exclude one of them). */
function synth(overrides: Record<string, unknown>, removed: string[] = []) {
  const context = readCdkJsonContext();
  const pipeline: Record<string, unknown> = {
    ...(context.pipeline as Record<string, unknown>),
    ...overrides,
  };
  for (const key of removed) delete pipeline[key];
  const { stack } = buildApp({ skipBundling: true, context: { ...context, pipeline } });
  // Synthesized with the AwsSolutions checks: an unacknowledged finding throws here.
  const template = Template.fromStack(stack);
  return { stack, template, json: template.toJSON() as Json };
}

/** The bucket policy of `bucket` (a literal name), its statements flattened to text. */
function bucketPolicyOf(json: Json, bucket: string): Json[] {
  const policies = Object.values<Json>(json.Resources).filter(
    (r) => r.Type === 'AWS::S3::BucketPolicy' && r.Properties.Bucket === bucket,
  );
  expect(policies).toHaveLength(1);
  return JSON.parse(flattenDeep(policies[0].Properties.PolicyDocument)).Statement;
}

/** `flatten` applied to every intrinsic in a JSON value, as JSON text. */
function flattenDeep(value: Json): string {
  const walk = (node: Json): Json => {
    if (node === null || typeof node !== 'object') return node;
    if (Array.isArray(node)) return node.map(walk);
    if (node['Fn::Join'] || node['Fn::GetAtt'] || node.Ref) return flatten(node);
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]));
  };
  return JSON.stringify(walk(value));
}

const envOf = (json: Json, variable: string): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(functionsByLogicalId(json)).map(([id, name]) => [
      name,
      json.Resources[id].Properties.Environment.Variables[variable],
    ]),
  );

describe('everything an earlier deployment left', () => {
  let adopted: ReturnType<typeof synth>;
  beforeAll(() => {
    adopted = synth(
      {
        existingBucketName: BUCKET,
        existingAccessLogsBucketName: LOGS_BUCKET,
        registryTableName: TABLE,
        secretArn: SECRET_ARN,
      },
      ['secretName'],
    );
  });

  describe('the drop bucket', () => {
    it('is referenced by name and no bucket is created', () => {
      const { template, json } = adopted;
      template.resourceCountIs('AWS::S3::Bucket', 0);
      expect(new Set(Object.values(envOf(json, 'BUCKET_NAME')))).toEqual(new Set([BUCKET]));
      expect(json.Outputs.BucketName.Value).toBe(BUCKET);
      template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: Match.objectLike({ detail: Match.objectLike({ bucket: { name: [BUCKET] } }) }),
      });
    });

    it("gets back its TLS-only policy, and its access-log bucket the grant S3's log delivery needs", () => {
      const { template, json } = adopted;
      template.resourceCountIs('AWS::S3::BucketPolicy', 2);
      const tlsOnly = (arn: string) => ({
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 's3:*',
        Resource: [arn, `${arn}/*`],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      });
      const logsArn = `arn:<AWS::Partition>:s3:::${LOGS_BUCKET}`;
      expect(bucketPolicyOf(json, BUCKET)).toEqual([tlsOnly(BUCKET_ARN)]);
      expect(bucketPolicyOf(json, LOGS_BUCKET)).toEqual([
        tlsOnly(logsArn),
        {
          Effect: 'Allow',
          Principal: { Service: 'logging.s3.amazonaws.com' },
          Action: 's3:PutObject',
          Resource: `${logsArn}/drop-bucket/*`,
          Condition: {
            ArnLike: { 'aws:SourceArn': BUCKET_ARN },
            StringEquals: { 'aws:SourceAccount': '<AWS::AccountId>' },
          },
        },
      ]);
    });

    it("is what the functions' S3 grants name, prefix by prefix", () => {
      const { json } = adopted;
      const under = (prefix: string) => (resource: Json) => flatten(resource) === `${BUCKET_ARN}/${prefix}*`;
      expect(functionsAllowed(json, 's3:PutObject', under('staging/'))).toEqual([
        'validate-file',
        'validate-large-file',
      ]);
      expect(functionsAllowed(json, 's3:DeleteObject', under('incoming/'))).toEqual([
        'archive-file',
        'handle-failure',
      ]);
      // No statement of any function names another bucket.
      for (const { roles, statement } of policyStatements(json)) {
        if (roles.length === 0) continue;
        for (const resource of asArray(statement.Resource).map(flatten)) {
          if (resource.includes(':s3:::')) expect(resource.startsWith(BUCKET_ARN), resource).toBe(true);
        }
      }
    });

    it('is one the local IAM evaluator lets validate-file stage into, under staging/ only', async () => {
      const policies = readTemplatePolicies(adopted.json, {
        bucketName: 'unused-local-bucket',
        tableName: 'unused-local-table',
        stateMachineArn: `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:local`,
      });
      const authorizer = createAuthorizer({ resourcePolicies: policies.resourcePolicies });
      const validateFile = policies.functions['validate-file'];
      if (!validateFile) throw new Error('no validate-file');
      const put = (key: string) =>
        authorizer.authorize(validateFile, {
          action: 's3:PutObject',
          resource: `arn:aws:s3:::${BUCKET}/${key}`,
          context: {},
        });
      expect((await put('staging/audiences/a-1/x.csv')).allowed).toBe(true);
      expect((await put('processed/x.csv')).allowed).toBe(false);
      // The adopted bucket's policy was read: plain HTTP is refused by it, whatever the role allows.
      const overHttp = await authorizer.authorize(validateFile, {
        action: 's3:PutObject',
        resource: `arn:aws:s3:::${BUCKET}/staging/audiences/a-1/x.csv`,
        context: { 'aws:SecureTransport': 'false' },
      });
      expect(overHttp).toMatchObject({ allowed: false, explicit: true });
    });

    it('says at synth time what the stack no longer sets on it', () => {
      Annotations.fromStack(adopted.stack).hasWarning(
        '/AepAudiencePipeline/DropBucket',
        Match.stringLikeRegexp(`existing bucket ${BUCKET}: the stack does not set its lifecycle rules`),
      );
    });
  });

  describe('the registry table', () => {
    it('is referenced by name and no table is created', () => {
      const { template, json } = adopted;
      template.resourceCountIs('AWS::DynamoDB::Table', 0);
      const tables = envOf(json, 'REGISTRY_TABLE_NAME');
      for (const name of FUNCTION_NAMES) {
        expect(tables[name], name).toBe(
          (AEP_CALLERS as readonly string[]).includes(name) ? TABLE : undefined,
        );
      }
      expect(json.Outputs.RegistryTableName.Value).toBe(TABLE);
    });

    it('is what the AEP functions may read and write item by item, and nothing else may', () => {
      const { json } = adopted;
      for (const action of ['PutItem', 'DeleteItem']) {
        expect(functionsAllowed(json, `dynamodb:${action}`, (r) => flatten(r) === TABLE_ARN)).toEqual(
          [...AEP_TASK_NAMES].sort(),
        );
      }
      // The upkeep functions read and update single items; KeepAlive scans once a day.
      for (const action of ['GetItem', 'UpdateItem']) {
        expect(functionsAllowed(json, `dynamodb:${action}`, (r) => flatten(r) === TABLE_ARN)).toEqual(
          [...AEP_CALLERS].sort(),
        );
      }
      expect(functionsAllowed(json, 'dynamodb:Scan', (r) => flatten(r) === TABLE_ARN)).toEqual([
        'keep-alive',
      ]);
      const dynamoActions = new Set(
        policyStatements(json).flatMap(({ statement }) =>
          asArray<string>(statement.Action).filter((a) => a.startsWith('dynamodb:')),
        ),
      );
      expect([...dynamoActions].sort()).toEqual([
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Scan',
        'dynamodb:UpdateItem',
      ]);
      for (const { statement } of policyStatements(json)) {
        if (asArray<string>(statement.Action).some((a) => a.startsWith('dynamodb:'))) {
          expect(asArray(statement.Resource).map(flatten)).toEqual([TABLE_ARN]);
        }
      }
    });
  });

  describe('the secret', () => {
    it('is referenced by ARN, none is created, and only the AEP functions may read it', () => {
      const { template, json } = adopted;
      template.resourceCountIs('AWS::SecretsManager::Secret', 0);
      const secrets = envOf(json, 'AEP_SECRET_ARN');
      for (const name of FUNCTION_NAMES) {
        expect(secrets[name], name).toBe(
          (AEP_CALLERS as readonly string[]).includes(name) ? SECRET_ARN : undefined,
        );
      }
      expect(functionsAllowed(json, 'secretsmanager:GetSecretValue', (r) => r === SECRET_ARN)).toEqual(
        [...AEP_CALLERS].sort(),
      );
      expect(json.Outputs.SecretArn.Value).toBe(SECRET_ARN);
    });
  });
});

describe('an existing drop bucket without its access-log bucket named', () => {
  it('gets its own policy only, and the warning says the logs may go undelivered', () => {
    const { stack, template } = synth({ existingBucketName: BUCKET }, ['bucketName']);
    template.resourceCountIs('AWS::S3::Bucket', 0);
    template.resourceCountIs('AWS::S3::BucketPolicy', 1);
    Annotations.fromStack(stack).hasWarning(
      '/AepAudiencePipeline/DropBucket',
      Match.stringLikeRegexp('No existingAccessLogsBucketName is set'),
    );
  });
});

describe('an existing table alone', () => {
  it('leaves the buckets and the secret to be created as on a first deployment', () => {
    const { template } = synth({ registryTableName: TABLE });
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    template.resourceCountIs('AWS::S3::Bucket', 2);
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
  });
});
