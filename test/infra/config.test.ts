// The stack configuration: defaults, and errors that name the cdk.json key to fix.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadPipelineConfig } from '../../lib/config.ts';

const minimal = { secretName: 'aep/creds' };

function errorOf(raw: unknown): ConfigError {
  try {
    loadPipelineConfig(raw);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadPipelineConfig', () => {
  it('fills the documented defaults', () => {
    expect(loadPipelineConfig(minimal)).toEqual({
      stackName: 'AepAudiencePipeline',
      secretName: 'aep/creds',
      defaultDestinations: [],
      defaultTtlInDays: 30,
      sourcePathIncludesBucket: true,
      requireManifest: false,
      identityNamespaces: { crmid: 'CRMID' },
      maxFileSizeBytes: 10 * 1024 ** 3,
      stagingRetentionDays: 120,
      reportsRetentionDays: 90,
      processedRetentionDays: 30,
      failedRetentionDays: 90,
      noncurrentVersionRetentionDays: 7,
      dailyRunBudget: 100,
      onDailyRunLimit: 'wait',
      onAudienceRunLimit: 'fail',
      logRetentionDays: 30,
      metricsNamespace: 'AepAudiencePipeline',
      accessLogsRetentionDays: 90,
    });
  });

  it('accepts batch destinations in the shape the state document uses', () => {
    const destination = {
      flowId: 'flow-1',
      kind: 'batch',
      batch: {
        exportMode: 'DAILY_FULL_EXPORT',
        schedule: { frequency: 'DAILY', startDate: '2026-12-01', startTime: '20:00' },
        filenameTemplate: '%SEGMENT_ID%',
      },
    };
    expect(
      loadPipelineConfig({ ...minimal, defaultDestinations: [destination] }).defaultDestinations,
    ).toEqual([destination]);
  });

  it.each([
    [
      { ...minimal, defaultTtlInDays: 91 },
      'cdk.json context "pipeline.defaultTtlInDays": Too big: expected number to be <=90',
    ],
    [{ ...minimal, stagingRetentionDays: 30 }, '"pipeline.stagingRetentionDays": Too small'],
    [{ ...minimal, logRetentionDays: 2 }, '"pipeline.logRetentionDays": one of 1, 3, 5, 7, 14, 30'],
    [{ ...minimal, bucketName: 'Not_A_Bucket' }, '"pipeline.bucketName": an S3 bucket name'],
    [
      { ...minimal, sourcePathIncludesBucket: 'yes' },
      '"pipeline.sourcePathIncludesBucket": Invalid input: expected boolean',
    ],
    [{ ...minimal, identityNamespaces: { 'crm id': 'CRMID' } }, '"pipeline.identityNamespaces.crm id"'],
    [
      { ...minimal, defaultDestinations: [{ flowId: 'f', kind: 'email' }] },
      '"pipeline.defaultDestinations.0.kind"',
    ],
    [{ ...minimal, defaultTtlDays: 30 }, 'cdk.json context "pipeline.defaultTtlDays": unknown key'],
    [{}, '"pipeline.secretName": set exactly one of secretName (the stack creates the secret) and secretArn'],
    [
      { ...minimal, secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:aep-AbCdEf' },
      'set exactly one of secretName (the stack creates the secret) and secretArn',
    ],
    [{ secretArn: 'aep-creds' }, '"pipeline.secretArn": the complete ARN of an existing secret'],
    // The partial ARN the console shows without the six characters Secrets Manager appends.
    [
      { secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:aep/creds' },
      '"pipeline.secretArn": the complete ARN of an existing secret',
    ],
    [{ ...minimal, registryTableName: 'ab' }, '"pipeline.registryTableName": a DynamoDB table name'],
    [
      { ...minimal, registryTableName: 'arn:aws:dynamodb:eu-west-1:123456789012:table/registry' },
      '"pipeline.registryTableName": a DynamoDB table name',
    ],
    [{ ...minimal, existingBucketName: 'Drop_Bucket' }, '"pipeline.existingBucketName": an S3 bucket name'],
    [
      { ...minimal, bucketName: 'acme-drop', existingBucketName: 'acme-drop' },
      '"pipeline.existingBucketName": set at most one of bucketName',
    ],
    [
      { ...minimal, existingAccessLogsBucketName: 'acme-drop-logs' },
      '"pipeline.existingAccessLogsBucketName": names the access-log bucket of an existing drop bucket',
    ],
    [
      { ...minimal, existingBucketName: 'acme-drop', existingAccessLogsBucketName: 'acme-drop' },
      '"pipeline.existingAccessLogsBucketName": must be another bucket than existingBucketName',
    ],
    [{ ...minimal, accessLogsRetentionDays: 0 }, '"pipeline.accessLogsRetentionDays": Too small'],
    [undefined, 'cdk.json context "pipeline" is missing'],
  ])('rejects %j naming the key', (raw, message) => {
    const error = errorOf(raw);
    expect(error.name).toBe('ConfigError');
    expect(error.message).toContain(message);
  });
});
