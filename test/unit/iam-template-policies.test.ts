// What the IAM side reads out of a template: every function's role, session and identity policies, the resource
// policies by ARN, the keys of topics and secrets; and the local ARNs every token resolves to.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTemplatePolicies } from '../../local/iam/template-policies.ts';
import { LOCAL_BUCKET, LOCAL_STATE_MACHINE, LOCAL_TABLE } from '../../local/runner/pipeline.ts';
import {
  isUnresolved,
  type Json,
  readSynthesizedPipeline,
  resolveIntrinsics,
} from '../../local/runner/synthesized.ts';
import { loadTemplate, PROJECT_ROOT } from '../../local/runner/template.ts';

const names = {
  bucketName: LOCAL_BUCKET,
  tableName: LOCAL_TABLE,
  stateMachineArn: `arn:aws:states:us-east-1:000000000000:stateMachine:${LOCAL_STATE_MACHINE}`,
};
const statement = (resource: Json) => ({ Effect: 'Allow', Action: 's3:GetObject', Resource: resource });
const doc = (...statements: Json[]) => ({ Version: '2012-10-17', Statement: statements });

/** A template with one function and its role; `extra` adds resources. */
function templateWith(extra: Record<string, Json>, role: Json = {}): Json {
  return {
    Resources: {
      Fn: {
        Type: 'AWS::Lambda::Function',
        Metadata: { 'aep:handler': 'functions/do-it/handler.ts' },
        Properties: { Role: { 'Fn::GetAtt': ['FnRole', 'Arn'] } },
      },
      FnRole: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: doc(), ...role } },
      Bucket: { Type: 'AWS::S3::Bucket' },
      ...extra,
    },
  };
}

describe('readTemplatePolicies on the synthesized template', () => {
  it('has a principal with identity policies for every function the runner runs', async () => {
    const template = await loadTemplate({ cacheDir: path.join(PROJECT_ROOT, '.local', '.cache') });
    const policies = readTemplatePolicies(template, names);
    const { functions } = readSynthesizedPipeline(template, names);
    expect(Object.keys(policies.functions).sort()).toEqual(Object.keys(functions).sort());
    for (const [name, principal] of Object.entries(policies.functions)) {
      expect(principal.functionLogicalId).toBe(functions[name]?.logicalId);
      expect(principal.roleArn).toBe(`arn:aws:iam::000000000000:role/${principal.roleLogicalId}`);
      expect(principal.sessionArn).toBe(
        `arn:aws:sts::000000000000:assumed-role/${principal.roleLogicalId}/${principal.functionLogicalId}`,
      );
      expect(principal.identityPolicies.length).toBeGreaterThan(0);
      // Every token resolved: no intrinsic function is left in what iam-simulate gets.
      expect(JSON.stringify(principal.identityPolicies)).not.toMatch(/"Ref"|"Fn::/);
    }
    expect(policies.resourcePolicies[`arn:aws:s3:::${LOCAL_BUCKET}`]).toBeDefined();
    // The ARNs the functions are given are the ones the policies are keyed by, so the runner can serve them.
    const topic = functions['archive-file']?.environment.NOTIFICATION_TOPIC_ARN as string;
    const secret = functions['create-audience']?.environment.AEP_SECRET_ARN as string;
    expect(policies.resourcePolicies[topic]).toBeDefined();
    expect(policies.keys[policies.topics[topic]?.kmsKeyArn as string]).toBeDefined();
    expect(policies.secrets[secret]?.name).toBe('aep-audience-pipeline/aep-credentials');
  });
});

describe('readTemplatePolicies', () => {
  it('collects attached and inline policies of the role, keyed by handler folder', () => {
    const policies = readTemplatePolicies(
      templateWith(
        {
          Attached: {
            Type: 'AWS::IAM::Policy',
            Properties: {
              PolicyName: 'a',
              PolicyDocument: doc(
                statement({ 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Bucket', 'Arn'] }, '/in/*']] }),
              ),
              Roles: [{ Ref: 'FnRole' }],
            },
          },
        },
        { Policies: [{ PolicyName: 'inline', PolicyDocument: doc(statement('arn:aws:s3:::x/*')) }] },
      ),
      names,
    );
    const principal = policies.functions['do-it'];
    expect(principal?.identityPolicies.map((p) => p.name)).toEqual(['FnRole/inline', 'Attached']);
    expect(principal?.identityPolicies[1]?.policy.Statement[0].Resource).toBe(
      `arn:aws:s3:::${LOCAL_BUCKET}/in/*`,
    );
  });

  it('fails loudly on managed policies of a function role, whose statements the template does not hold', () => {
    const template = templateWith({}, { ManagedPolicyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'] });
    expect(() => readTemplatePolicies(template, names)).toThrow(/FnRole.*ManagedPolicyArns/);
    // Another role's (a custom resource's) are none of its business.
    const other = templateWith({
      ProviderRole: {
        Type: 'AWS::IAM::Role',
        Properties: { ManagedPolicyArns: ['arn:aws:iam::aws:policy/X'] },
      },
    });
    expect(Object.keys(readTemplatePolicies(other, names).functions)).toEqual(['do-it']);
  });

  it('names the resource and the path of a token with no local value', () => {
    const template = templateWith({
      Alarm: { Type: 'AWS::CloudWatch::Alarm' },
      Attached: {
        Type: 'AWS::IAM::Policy',
        Properties: {
          PolicyName: 'a',
          PolicyDocument: doc(statement('arn:aws:s3:::x/*'), statement({ Ref: 'Alarm' })),
          Roles: [{ Ref: 'FnRole' }],
        },
      },
    });
    expect(() => readTemplatePolicies(template, names)).toThrow(
      'Attached (AWS::IAM::Policy) Properties.PolicyDocument.Statement[1].Resource has a CloudFormation token',
    );
  });

  it('keys resource policies by the ARN of each resource they cover', () => {
    const policies = readTemplatePolicies(
      templateWith({
        TopicA: { Type: 'AWS::SNS::Topic', Properties: { KmsMasterKeyId: { 'Fn::GetAtt': ['Key', 'Arn'] } } },
        TopicB: {
          Type: 'AWS::SNS::Topic',
          Properties: { TopicName: 'named', KmsMasterKeyId: 'alias/aws/sns' },
        },
        TopicPolicy: {
          Type: 'AWS::SNS::TopicPolicy',
          Properties: { PolicyDocument: doc(), Topics: [{ Ref: 'TopicA' }, { Ref: 'TopicB' }] },
        },
        Queue: { Type: 'AWS::SQS::Queue' },
        QueuePolicy: {
          Type: 'AWS::SQS::QueuePolicy',
          Properties: { PolicyDocument: doc(), Queues: [{ Ref: 'Queue' }] },
        },
        Secret: { Type: 'AWS::SecretsManager::Secret', Properties: { KmsKeyId: { Ref: 'Key' } } },
        SecretPolicy: {
          Type: 'AWS::SecretsManager::ResourcePolicy',
          Properties: { SecretId: { Ref: 'Secret' }, ResourcePolicy: doc() },
        },
        Key: { Type: 'AWS::KMS::Key', Properties: {} },
      }),
      names,
    );
    const region = 'arn:aws:sns:us-east-1:000000000000';
    const key = 'arn:aws:kms:us-east-1:000000000000:key/Key';
    const secret = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:Secret-AbCdEf';
    expect(Object.keys(policies.resourcePolicies).sort()).toEqual(
      [`${region}:TopicA`, `${region}:named`, 'arn:aws:sqs:us-east-1:000000000000:Queue', secret, key].sort(),
    );
    // A key without a KeyPolicy gets CloudFormation's default: the account's IAM policies decide.
    expect(policies.resourcePolicies[key]?.policy.Statement[0].Principal).toEqual({
      AWS: 'arn:aws:iam::000000000000:root',
    });
    expect(policies.topics).toEqual({
      [`${region}:TopicA`]: { logicalId: 'TopicA', kmsKeyArn: key },
      [`${region}:named`]: { logicalId: 'TopicB' },
    });
    expect(policies.secrets[secret]).toEqual({ logicalId: 'Secret', name: 'Secret', kmsKeyArn: key });
  });
});

describe('resolveIntrinsics', () => {
  const template = templateWith({
    Logs: { Type: 'AWS::Logs::LogGroup' },
    AccessLogs: { Type: 'AWS::S3::Bucket' },
    Logged: {
      Type: 'AWS::S3::Bucket',
      Properties: { LoggingConfiguration: { DestinationBucketName: { Ref: 'AccessLogs' } } },
    },
    Table: { Type: 'AWS::DynamoDB::Table' },
    Queue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'q' } },
    Machine: { Type: 'AWS::StepFunctions::StateMachine' },
  });
  const resolve = (value: Json) => resolveIntrinsics(value, template, names);

  it('gives every resource type a deterministic local name and ARN', () => {
    expect(resolve({ 'Fn::GetAtt': ['Logs', 'Arn'] })).toBe(
      'arn:aws:logs:us-east-1:000000000000:log-group:Logs:*',
    );
    expect(resolve({ 'Fn::GetAtt': ['Table', 'Arn'] })).toBe(
      `arn:aws:dynamodb:us-east-1:000000000000:table/${LOCAL_TABLE}`,
    );
    expect(resolve({ Ref: 'Queue' })).toBe('https://sqs.us-east-1.amazonaws.com/000000000000/q');
    expect(resolve({ 'Fn::GetAtt': ['FnRole', 'Arn'] })).toBe('arn:aws:iam::000000000000:role/FnRole');
    // The bucket that only receives access logs does not share the pipeline bucket's name (nor its policy).
    expect(resolve({ Ref: 'Logged' })).toBe(LOCAL_BUCKET);
    expect(resolve({ Ref: 'AccessLogs' })).toBe(`${LOCAL_BUCKET}-accesslogs`);
  });

  // biome-ignore-start lint/suspicious/noTemplateCurlyInString: Fn::Sub's own ${} syntax, not JavaScript's.
  it('resolves Fn::Select over Fn::Split, and Fn::Sub with its own variables', () => {
    const machineName = { 'Fn::Select': [6, { 'Fn::Split': [':', { Ref: 'Machine' }] }] };
    expect(resolve(machineName)).toBe(LOCAL_STATE_MACHINE);
    expect(resolve({ 'Fn::Sub': ['${AWS::Region}/${Name}/${!Literal}', { Name: { Ref: 'Queue' } }] })).toBe(
      'us-east-1/https://sqs.us-east-1.amazonaws.com/000000000000/q/${Literal}',
    );
    // A Sub with a part that has no local value is unresolved as a whole, not an empty string in the middle.
    expect(isUnresolved(resolve({ 'Fn::Sub': 'x-${Missing}' }))).toBe(true);
  });
  // biome-ignore-end lint/suspicious/noTemplateCurlyInString: see above.
});
