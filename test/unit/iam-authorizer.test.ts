// The authorizer on the real synthesized template: each function's role session against its identity policies
// and the resource policies (bucket, topic, key), with AWS's wording for a refusal. The assertions test the
// mechanism on grants that are meant to stay, not today's exact statements.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Check, checksFor, type TableContext } from '../../local/iam/actions.ts';
import { createAuthorizer, denialMessage } from '../../local/iam/authorizer.ts';
import {
  type FunctionPrincipal,
  readTemplatePolicies,
  type TemplatePolicies,
} from '../../local/iam/template-policies.ts';
import { LOCAL_BUCKET, LOCAL_STATE_MACHINE, LOCAL_TABLE } from '../../local/runner/pipeline.ts';
import { type Json, readSynthesizedPipeline, type TaskFunction } from '../../local/runner/synthesized.ts';
import { loadTemplate, PROJECT_ROOT } from '../../local/runner/template.ts';

const names = {
  bucketName: LOCAL_BUCKET,
  tableName: LOCAL_TABLE,
  stateMachineArn: `arn:aws:states:us-east-1:000000000000:stateMachine:${LOCAL_STATE_MACHINE}`,
};
const BUCKET = `arn:aws:s3:::${LOCAL_BUCKET}`;
const AEP_TASKS = [
  'create-audience',
  'check-audience',
  'start-ingestion',
  'check-ingestion',
  'activate-destinations',
];

let template: Json;
let policies: TemplatePolicies;
let functions: Record<string, TaskFunction>;
let authorizer: ReturnType<typeof createAuthorizer>;
let ctx: TableContext;

const fn = (name: string): FunctionPrincipal => {
  const principal = policies.functions[name];
  if (!principal) throw new Error(`no function ${name} in the template`);
  return principal;
};
const check = (action: string, resource: string, context: Check['context'] = {}): Check => ({
  action,
  resource,
  context,
});
const allowed = async (name: string, c: Check) => (await authorizer.authorize(fn(name), c)).allowed;

beforeAll(async () => {
  template = await loadTemplate({ cacheDir: path.join(PROJECT_ROOT, '.local', '.cache') });
  policies = readTemplatePolicies(template, names);
  functions = readSynthesizedPipeline(template, names).functions;
  authorizer = createAuthorizer({ resourcePolicies: policies.resourcePolicies });
  ctx = { region: 'us-east-1', account: '000000000000', topics: policies.topics, secrets: policies.secrets };
});

describe('the authorizer on the synthesized template', () => {
  it('lets archive-file write under processed/ but not read there, in AWS words', async () => {
    const archive = fn('archive-file');
    expect(await allowed('archive-file', check('s3:PutObject', `${BUCKET}/processed/x`))).toBe(true);
    const refused = await authorizer.authorize(archive, check('s3:GetObject', `${BUCKET}/processed/x`));
    expect(refused).toEqual({
      allowed: false,
      action: 's3:GetObject',
      resource: `${BUCKET}/processed/x`,
      explicit: false,
      message:
        `User: arn:aws:sts::000000000000:assumed-role/${archive.roleLogicalId}/${archive.functionLogicalId} ` +
        `is not authorized to perform: s3:GetObject on resource: "${BUCKET}/processed/x" because no ` +
        'identity-based policy allows the s3:GetObject action',
    });
  });

  it('does not let validate-file write under processed/', async () => {
    expect(await allowed('validate-file', check('s3:PutObject', `${BUCKET}/processed/x.csv`))).toBe(false);
  });

  it('lets start-pipeline start executions of the state machine, and of no other', async () => {
    expect(await allowed('start-pipeline', check('states:StartExecution', names.stateMachineArn))).toBe(true);
    const other = 'arn:aws:states:us-east-1:000000000000:stateMachine:Other';
    const refused = await authorizer.authorize(fn('start-pipeline'), check('states:StartExecution', other));
    expect(refused.allowed).toBe(false);
    if (!refused.allowed) {
      // Outside S3 the resource is not quoted.
      expect(refused.message).toMatch(
        new RegExp(`perform: states:StartExecution on resource: ${other} because no identity-based policy`),
      );
    }
  });

  it('lets the AEP tasks read the AEP secret, and a task without it not', async () => {
    const secretArn = functions['create-audience']?.environment.AEP_SECRET_ARN;
    expect(secretArn).toBeDefined();
    const checks = checksFor(
      { service: 'secretsmanager', operation: 'GetSecretValue', params: { SecretId: secretArn } },
      ctx,
    );
    for (const name of AEP_TASKS) {
      expect(functions[name]?.environment.AEP_SECRET_ARN).toBe(secretArn);
      for (const c of checks) expect(await allowed(name, c), `${name} ${c.action}`).toBe(true);
    }
    expect(functions['validate-file']?.environment.AEP_SECRET_ARN).toBeUndefined();
    expect(await allowed('validate-file', checks[0] as Check)).toBe(false);
  });

  it('lets each function given the outcome topic publish to it, the key policy included', async () => {
    const publishers = Object.entries(functions).filter(([, f]) => f.environment.NOTIFICATION_TOPIC_ARN);
    expect(publishers.length).toBeGreaterThan(0);
    for (const [name, f] of publishers) {
      const topic = f.environment.NOTIFICATION_TOPIC_ARN as string;
      const checks = checksFor({ service: 'sns', operation: 'Publish', params: { TopicArn: topic } }, ctx);
      // The topic is encrypted with a customer key: the key's policy is evaluated too.
      expect(checks.map((c) => c.action)).toEqual(['sns:Publish', 'kms:GenerateDataKey', 'kms:Decrypt']);
      for (const c of checks) expect(await allowed(name, c), `${name} ${c.action}`).toBe(true);
    }
    const [, first] = publishers[0] as [string, TaskFunction];
    const topic = first.environment.NOTIFICATION_TOPIC_ARN as string;
    for (const [name, f] of Object.entries(functions)) {
      if (f.environment.NOTIFICATION_TOPIC_ARN) continue;
      expect(await allowed(name, check('sns:Publish', topic)), name).toBe(false);
    }
  });

  it('denies what the key policy does not allow, even when the identity policy does', async () => {
    const keyArn = Object.keys(policies.keys)[0] as string;
    const lockedKey = createAuthorizer({
      resourcePolicies: {
        ...policies.resourcePolicies,
        // Without the account statement, IAM policies cannot grant use of the key.
        [keyArn]: { logicalId: 'Locked', policy: { Version: '2012-10-17', Statement: [] } },
      },
    });
    const c = check('kms:GenerateDataKey', keyArn);
    expect(await allowed('archive-file', c)).toBe(true);
    const refused = await lockedKey.authorize(fn('archive-file'), c);
    expect(refused.allowed).toBe(false);
    if (!refused.allowed) {
      expect(refused.message).toMatch(
        /because no resource-based policy allows the kms:GenerateDataKey action$/,
      );
    }
  });

  it('applies the bucket policy: a request without TLS meets its explicit deny', async () => {
    const put = check('s3:PutObject', `${BUCKET}/processed/x`);
    expect(await allowed('archive-file', put)).toBe(true);
    const insecure = await authorizer.authorize(fn('archive-file'), {
      ...put,
      context: { 'aws:SecureTransport': 'false' },
    });
    expect(insecure).toMatchObject({ allowed: false, explicit: true });
    if (!insecure.allowed)
      expect(insecure.message).toMatch(/with an explicit deny in a resource-based policy$/);
    // The cached allow above does not leak into a request whose deciding context differs, nor back.
    expect(await allowed('archive-file', put)).toBe(true);
  });
});

describe('the denial wording', () => {
  const session = 'arn:aws:sts::000000000000:assumed-role/R/F';

  it('names an explicit deny by its policy type, and writes SNS actions as SNS does', async () => {
    const principal: FunctionPrincipal = {
      function: 'f',
      functionLogicalId: 'F',
      roleLogicalId: 'R',
      roleArn: 'arn:aws:iam::000000000000:role/R',
      sessionArn: session,
      accountId: '000000000000',
      identityPolicies: [
        {
          name: 'p',
          policy: {
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Action: 'sns:Publish', Resource: '*' },
              {
                Effect: 'Deny',
                Action: 'sns:Publish',
                Resource: 'arn:aws:sns:us-east-1:000000000000:Closed',
              },
            ],
          },
        },
      ],
    };
    const own = createAuthorizer({ resourcePolicies: {} });
    const refused = await own.authorize(
      principal,
      check('sns:Publish', 'arn:aws:sns:us-east-1:000000000000:Closed'),
    );
    expect(refused).toMatchObject({
      allowed: false,
      message:
        `User: ${session} is not authorized to perform: SNS:Publish on resource: ` +
        'arn:aws:sns:us-east-1:000000000000:Closed with an explicit deny in an identity-based policy',
    });
    expect(
      (await own.authorize(principal, check('sns:Publish', 'arn:aws:sns:us-east-1:000000000000:Open')))
        .allowed,
    ).toBe(true);
  });

  it('prefers the identity side when several policy types refuse implicitly', () => {
    const message = denialMessage(
      session,
      check('dynamodb:GetItem', 'arn:aws:dynamodb:us-east-1:0:table/t'),
      [
        { policyType: 'resource', denialType: 'Implicit' },
        { policyType: 'identity', denialType: 'Implicit' },
      ],
    );
    expect(message).toBe(
      `User: ${session} is not authorized to perform: dynamodb:GetItem on resource: ` +
        'arn:aws:dynamodb:us-east-1:0:table/t because no identity-based policy allows the dynamodb:GetItem action',
    );
  });
});
