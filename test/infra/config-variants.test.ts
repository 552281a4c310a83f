// The stack built from a non-default configuration: an existing secret, a fixed bucket name, other retentions.
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp, readCdkJsonContext } from '../../lib/app-factory.ts';
import type { Json } from './template-helpers.ts';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:aep/creds-AbCdEf';
let template: Template;
let json: Json;

beforeAll(() => {
  const context = readCdkJsonContext();
  const { stack } = buildApp({
    skipBundling: true,
    context: {
      ...context,
      pipeline: {
        stackName: 'AudiencesStaging',
        secretArn: SECRET_ARN,
        bucketName: 'acme-audience-drop',
        requireManifest: true,
        defaultDestinations: [{ flowId: 'flow-1', kind: 'streaming' }],
        stagingRetentionDays: 200,
        reportsRetentionDays: 14,
        logRetentionDays: 90,
      },
    },
  });
  expect(stack.stackName).toBe('AudiencesStaging');
  template = Template.fromStack(stack);
  json = template.toJSON();
});

describe('a stack with an existing secret and a fixed bucket name', () => {
  it('creates no secret and hands the given ARN to the AEP functions, and grants reading it', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    template.resourcePropertiesCountIs(
      'AWS::Lambda::Function',
      { Environment: { Variables: Match.objectLike({ AEP_SECRET_ARN: SECRET_ARN }) } },
      // The five AEP tasks, keep-alive and delete-audience.
      7,
    );
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['secretsmanager:GetSecretValue']),
            Resource: SECRET_ARN,
          }),
        ]),
      },
    });
    expect(json.Outputs.SecretArn.Value).toBe(SECRET_ARN);
  });

  it('names the bucket and applies the configured retentions', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'acme-audience-drop',
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            Prefix: 'staging/',
            ExpirationInDays: 200,
            TagFilters: [{ Key: 'aep-retention', Value: 'staging' }],
          }),
          Match.objectLike({ Prefix: 'reports/', ExpirationInDays: 14 }),
        ]),
      },
    });
    template.resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 90 }, 14);
  });

  it('passes the configuration to validate-file', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          REQUIRE_MANIFEST: 'true',
          DEFAULT_DESTINATIONS: '[{"flowId":"flow-1","kind":"streaming"}]',
        }),
      },
    });
  });
});
