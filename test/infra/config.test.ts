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
      largeFileThresholdBytes: 1024 ** 3,
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
      teams: {},
      unknownTeams: 'defaults',
      keepAliveDaysBeforeExpiry: 7,
      expiryWarningDays: 7,
    });
  });

  it('accepts batch destinations in the shape the state document uses', () => {
    const destination = {
      flowId: 'flow-1',
      kind: 'batch',
      batch: {
        exportMode: 'DAILY_FULL_EXPORT',
        schedule: { frequency: 'DAILY', startDate: '2026-12-01', startTime: '20:00' },
        filenameTemplate: '%DESTINATION_NAME%_%SEGMENT_ID%',
      },
    };
    expect(
      loadPipelineConfig({ ...minimal, defaultDestinations: [destination] }).defaultDestinations,
    ).toEqual([destination]);
  });

  describe("checks defaultDestinations' batch schedules with AEP's rules, as ValidateFile checks a manifest's", () => {
    const batch = (exportMode: string, schedule: Record<string, unknown>) => ({
      flowId: 'flow-b',
      kind: 'batch',
      batch: {
        exportMode,
        schedule: { startDate: '2026-12-01', ...schedule },
        filenameTemplate: '%DESTINATION_NAME%_%SEGMENT_ID%',
      },
    });
    const withDefaults = (...defaultDestinations: unknown[]) => ({
      ...minimal,
      defaultDestinations: [{ flowId: 'flow-s', kind: 'streaming' }, ...defaultDestinations],
    });

    it.each([
      [
        'a full export after segmentation',
        batch('DAILY_FULL_EXPORT', { frequency: 'DAILY', triggerType: 'AFTER_SEGMENT_EVAL' }),
      ],
      [
        'an incremental export with startTime',
        batch('FIRST_FULL_THEN_INCREMENTAL', { frequency: 'EVERY_12_HOURS', startTime: '02:00' }),
      ],
    ])('accepts %s', (_name, destination) => {
      expect(loadPipelineConfig(withDefaults(destination)).defaultDestinations).toHaveLength(2);
    });

    it.each([
      [
        batch('FIRST_FULL_THEN_INCREMENTAL', { frequency: 'DAILY' }),
        'cdk.json context "pipeline.defaultDestinations.1.batch.schedule.startTime": destination flow-b (FIRST_FULL_THEN_INCREMENTAL): startTime (a UTC hour HH:00) is required',
      ],
      [
        batch('FIRST_FULL_THEN_INCREMENTAL', {
          frequency: 'DAILY',
          triggerType: 'SCHEDULED',
          startTime: '20:00',
        }),
        '"pipeline.defaultDestinations.1.batch.schedule.triggerType": destination flow-b (FIRST_FULL_THEN_INCREMENTAL): triggerType applies to DAILY_FULL_EXPORT only',
      ],
      [
        batch('DAILY_FULL_EXPORT', {
          frequency: 'DAILY',
          triggerType: 'AFTER_SEGMENT_EVAL',
          startTime: '20:00',
        }),
        '"pipeline.defaultDestinations.1.batch.schedule.startTime": destination flow-b (DAILY_FULL_EXPORT): DAILY_FULL_EXPORT with triggerType AFTER_SEGMENT_EVAL runs when the daily segmentation job ends',
      ],
      [
        { flowId: 'flow-b', kind: 'batch' },
        '"pipeline.defaultDestinations.1.batch": destination flow-b: a batch destination needs its export settings',
      ],
      [
        { ...batch('DAILY_FULL_EXPORT', { frequency: 'DAILY', startTime: '20:00' }), kind: 'streaming' },
        '"pipeline.defaultDestinations.1.batch": destination flow-b: a streaming destination takes no batch export settings',
      ],
    ])('fails the synth for %j', (destination, message) => {
      expect(errorOf(withDefaults(destination)).message).toContain(message);
    });
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
