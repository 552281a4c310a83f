// Unit tests of record-execution-failure: error.json for executions that ended outside HandleFailure.
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  pagingMetricOf,
  REDRIVE_HINT,
  type RecordFailureDeps,
  recordExecutionFailure,
} from '../../functions/record-execution-failure/record-execution-failure.ts';
import { createLogger, setDefaultLogSink } from '../../functions/shared/log.ts';
import { METRIC } from '../../functions/shared/metric-names.ts';
import { MemoryBucket } from './support/memory-s3.ts';

const bucket = new MemoryBucket();
const sfnMock = mockClient(SFNClient);
const EXEC = 'churn-1a2b3c4d';
const ARN = `arn:aws:states:us-east-1:111122223333:execution:pipeline:${EXEC}`;
const NOW = new Date('2026-04-01T12:00:00Z');
const file = { bucket: 'drop', key: 'incoming/churn.csv', sequencer: '01', size: 4 };

function deps(): RecordFailureDeps {
  return {
    s3: new S3Client({}),
    sfn: new SFNClient({}),
    config: { bucket: 'drop' },
    logger: createLogger({ service: 'test', sink: () => {} }),
    now: () => NOW,
  };
}

function statusChange(detail: Record<string, unknown>) {
  return {
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    detail: { executionArn: ARN, name: EXEC, input: JSON.stringify({ file }), ...detail },
  };
}

beforeEach(() => {
  bucket.reset();
  sfnMock.reset();
});

describe('recordExecutionFailure', () => {
  it('writes error.json for a FAILED execution from the JSON cause', async () => {
    const cause = JSON.stringify({
      errorType: 'AEP_UNAVAILABLE',
      errorMessage: 'AEP answered 503 five times',
    });
    const result = await recordExecutionFailure(
      statusChange({ status: 'FAILED', error: 'AEP_UNAVAILABLE', cause }),
      deps(),
    );

    expect(result).toEqual({
      status: 'WRITTEN',
      key: `reports/${EXEC}/error.json`,
      executionStatus: 'FAILED',
      execution: EXEC,
      executionArn: ARN,
      file,
      code: 'AEP_UNAVAILABLE',
      message: 'AEP answered 503 five times',
    });
    expect(bucket.json(result.key)).toEqual({
      status: 'FAILED',
      execution: EXEC,
      executionArn: ARN,
      file,
      code: 'AEP_UNAVAILABLE',
      message: 'AEP answered 503 five times',
      redrivable: true,
      hint: REDRIVE_HINT,
      failedAt: NOW.toISOString(),
    });
    expect(sfnMock.commandCalls(DescribeExecutionCommand)).toHaveLength(0);
  });

  it('does nothing when HandleFailure already wrote error.json', async () => {
    bucket.put(`reports/${EXEC}/error.json`, '{"status":"FAILED","code":"VALIDATION_FAILED"}');
    const result = await recordExecutionFailure(statusChange({ status: 'FAILED', error: 'X' }), deps());
    expect(result.status).toBe('ALREADY_REPORTED');
    expect(bucket.json(result.key).code).toBe('VALIDATION_FAILED');
  });

  it('tells a missing error.json by listing reports/, with no read it would be refused', async () => {
    // As in AWS, where this function lists reports/ but reads nothing: a HEAD of the missing key is a 403.
    bucket.missingKeyReads = 'AccessDenied';
    const result = await recordExecutionFailure(statusChange({ status: 'FAILED', error: 'X' }), deps());
    expect(result.status).toBe('WRITTEN');
    expect(bucket.mock.commandCalls(HeadObjectCommand)).toHaveLength(0);
    expect(bucket.mock.commandCalls(GetObjectCommand)).toHaveLength(0);
    expect(bucket.listRequests.map((request) => request.Prefix)).toEqual([`reports/${EXEC}/error.json`]);
  });

  it.each([
    ['TIMED_OUT', /time limit/],
    ['ABORTED', /stopped/],
  ])('explains %s in a sentence, with the status as the code', async (status, sentence) => {
    const result = await recordExecutionFailure(statusChange({ status, error: null, cause: null }), deps());
    const report = bucket.json(result.key);
    expect(report.code).toBe(status);
    expect(report.message).toMatch(sentence);
  });

  it('asks Step Functions only when the event lacks the input or the error', async () => {
    sfnMock.on(DescribeExecutionCommand).resolves({
      input: JSON.stringify({ file }),
      error: 'States.Timeout',
      cause: 'Task timed out',
    });
    const result = await recordExecutionFailure(
      statusChange({ status: 'FAILED', input: null, error: null, cause: null, name: undefined }),
      deps(),
    );
    expect(sfnMock.commandCalls(DescribeExecutionCommand)[0]?.args[0].input).toEqual({ executionArn: ARN });
    expect(result.key).toBe(`reports/${EXEC}/error.json`);
    expect(bucket.json(result.key)).toMatchObject({
      file,
      code: 'States.Timeout',
      message: 'Task timed out',
    });
  });

  it('rejects an event that is not an execution status change', async () => {
    await expect(recordExecutionFailure({ detail: {} }, deps())).rejects.toThrow();
    expect(bucket.currentKeys()).toEqual([]);
  });
});

describe('pagingMetricOf', () => {
  const written = (executionStatus: 'FAILED' | 'TIMED_OUT' | 'ABORTED', code: string) =>
    ({
      status: 'WRITTEN',
      key: 'k',
      executionStatus,
      execution: EXEC,
      executionArn: ARN,
      file: null,
      code,
      message: 'm',
    }) as const;

  it.each([
    ['AEP_UNAVAILABLE', METRIC.retriesExhausted],
    ['AEP_BUSY', METRIC.retriesExhausted],
    ['Lambda.ServiceException', METRIC.retriesExhausted],
    ['AEP_AUTH_FAILED', METRIC.executionsFailedUncaught],
    ['AEP_POLL_LIMIT', METRIC.executionsFailedUncaught],
    ['TypeError', METRIC.executionsFailedUncaught],
    ['States.Timeout', METRIC.executionsFailedUncaught],
  ])('a FAILED execution with %s pages on %s', (code, metric) => {
    expect(pagingMetricOf(written('FAILED', code))).toBe(metric);
  });

  it("pages an abort as uncaught, and leaves a timeout to the state machine's own metric", () => {
    expect(pagingMetricOf(written('ABORTED', 'ABORTED'))).toBe(METRIC.executionsFailedUncaught);
    expect(pagingMetricOf(written('TIMED_OUT', 'TIMED_OUT'))).toBeUndefined();
  });
});

describe('record-execution-failure handler', () => {
  let blobs: Record<string, unknown>[] = [];
  beforeEach(() => {
    blobs = [];
    setDefaultLogSink((line) => {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if ('_aws' in parsed) blobs.push(parsed);
    });
  });
  afterEach(() => setDefaultLogSink((line) => process.stdout.write(`${line}\n`)));

  async function invoke(event: unknown): Promise<unknown> {
    const saved = { ...process.env };
    process.env.BUCKET_NAME = 'drop';
    delete process.env.NOTIFICATION_TOPIC_ARN;
    try {
      const { handler } = await import('../../functions/record-execution-failure/handler.ts');
      return await (handler as unknown as (e: unknown, c: Context) => Promise<unknown>)(event, {} as Context);
    } finally {
      process.env = saved;
    }
  }
  const counted = (metric: string) =>
    blobs.filter((blob) => metric in blob).map((blob) => [blob.service, blob[metric], blob.correlationId]);

  it('counts ExecutionsFailedUncaught once for an execution that failed outside HandleFailure', async () => {
    await invoke(statusChange({ status: 'FAILED', error: 'AEP_AUTH_FAILED', cause: 'IMS said no' }));
    expect(counted(METRIC.executionsFailedUncaught)).toEqual([['record-execution-failure', 1, EXEC]]);
    expect(counted(METRIC.retriesExhausted)).toEqual([]);
  });

  it('counts RetriesExhausted, not ExecutionsFailedUncaught, for an outage past the retries', async () => {
    await invoke(statusChange({ status: 'FAILED', error: 'AEP_BUSY', cause: 'a run is in progress' }));
    expect(counted(METRIC.retriesExhausted)).toEqual([['record-execution-failure', 1, EXEC]]);
    expect(counted(METRIC.executionsFailedUncaught)).toEqual([]);
  });

  it('counts nothing for an execution HandleFailure already reported (a rejected file)', async () => {
    bucket.put(`reports/${EXEC}/error.json`, '{"code":"VALIDATION_FAILED"}');
    await invoke(statusChange({ status: 'FAILED', error: 'VALIDATION_FAILED', cause: 'bad rows' }));
    expect(counted(METRIC.executionsFailedUncaught)).toEqual([]);
    expect(counted(METRIC.retriesExhausted)).toEqual([]);
  });

  it('counts a fault of its own as TaskFaults', async () => {
    await expect(invoke({ 'detail-type': 'something else' })).rejects.toThrow();
    expect(counted(METRIC.taskFaults)).toEqual([['record-execution-failure', 1, 'unknown']]);
  });
});
