// Unit tests of HandleFailure: the original moved to failed/, error.json with code/message/stage, never lost.
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type HandleFailureDeps,
  handleFailure,
  stageReached,
} from '../../functions/handle-failure/handle-failure.ts';
import { createLogger, setDefaultLogSink } from '../../functions/shared/log.ts';
import { METRIC, PREFIX_DIMENSION } from '../../functions/shared/metric-names.ts';
import { prefixDimension, ROOT_PREFIX } from '../../functions/shared/outcome.ts';
import type { PipelineState, TaskEvent } from '../../functions/shared/state.ts';
import { MemoryBucket } from './support/memory-s3.ts';

const bucket = new MemoryBucket();
const EXEC = 'churn-1a2b3c4d';
const KEY = 'incoming/teamA/churn.csv';
const FAILED_AT = new Date('2026-04-01T12:00:00Z');

function deps(): HandleFailureDeps {
  return {
    s3: new S3Client({}),
    logger: createLogger({ service: 'test', sink: () => {} }),
    now: () => FAILED_AT,
  };
}

const file = { bucket: 'drop', key: KEY, sequencer: '01', size: 4 };

function event(state: Partial<PipelineState>): TaskEvent {
  return { executionName: EXEC, state: { file, ...state } };
}

const rejectedValidation = {
  valid: false,
  rows: 3,
  validRows: 1,
  invalidRows: 2,
  invalidByCode: { INVALID_IDENTITY: 2 },
  identities: { Email: 1 },
  fields: [],
  destinations: [],
  reports: { validation: `reports/${EXEC}/validation.json`, rejects: `reports/${EXEC}/rejects.csv` },
} satisfies PipelineState['validation'];

/** Keys the task read (HEAD or GET), as opposed to listed. */
function readKeys(): string[] {
  return [...bucket.mock.commandCalls(HeadObjectCommand), ...bucket.mock.commandCalls(GetObjectCommand)].map(
    (call) => call.args[0].input.Key ?? '',
  );
}

beforeEach(() => bucket.reset());

describe('handleFailure', () => {
  it('moves the original and manifest to failed/ and writes error.json from a bare local Cause', async () => {
    bucket.put(KEY, 'data');
    bucket.put('incoming/teamA/churn.manifest.json', '{}');
    const cause = 'row 2, column "email": "a***@e***" is not an email address';

    const failure = await handleFailure(
      event({ validation: rejectedValidation, error: { Error: 'VALIDATION_FAILED', Cause: cause } }),
      deps(),
    );

    const failedKey = `failed/teamA/${EXEC}/churn.csv`;
    expect(failure).toEqual({
      code: 'VALIDATION_FAILED',
      message: cause,
      failedKey,
      errorReportKey: `reports/${EXEC}/error.json`,
    });
    expect(bucket.current(failedKey)).toBe('data');
    expect(bucket.current(`failed/teamA/${EXEC}/churn.manifest.json`)).toBe('{}');
    expect(bucket.current(KEY)).toBeUndefined();
    expect(bucket.json(failure.errorReportKey)).toMatchObject({
      status: 'FAILED',
      execution: EXEC,
      file: { key: KEY },
      code: 'VALIDATION_FAILED',
      message: cause,
      stage: 'ValidateFile',
      reports: { ...rejectedValidation.reports, error: failure.errorReportKey },
      failedAt: FAILED_AT.toISOString(),
    });
  });

  it("reads the message out of AWS's JSON Cause", async () => {
    bucket.put(KEY, 'data');
    const cause = JSON.stringify({
      errorType: 'AEP_REQUEST_REJECTED',
      errorMessage: 'AEP rejected the audience: name too long',
      trace: ['at x'],
    });
    const failure = await handleFailure(
      event({ error: { Error: 'AEP_REQUEST_REJECTED', Cause: cause } }),
      deps(),
    );
    expect(failure.message).toBe('AEP rejected the audience: name too long');
    expect(bucket.json(failure.errorReportKey).message).toBe('AEP rejected the audience: name too long');
  });

  it('moves a file uploaded without a manifest, reading nothing under failed/', async () => {
    // As in AWS, where HandleFailure may not read failed/ and lists only by prefix: a read of a missing key
    // is a 403, and the file would get no error.json.
    bucket.missingKeyReads = 'AccessDenied';
    bucket.put(KEY, 'data');

    const failure = await handleFailure(
      event({ error: { Error: 'VALIDATION_FAILED', Cause: 'bad' } }),
      deps(),
    );

    expect(bucket.current(`failed/teamA/${EXEC}/churn.csv`)).toBe('data');
    expect(bucket.json(failure.errorReportKey).code).toBe('VALIDATION_FAILED');
    expect(readKeys()).toEqual([KEY]);
    expect(bucket.listRequests.map((request) => request.Prefix)).toEqual([
      KEY,
      'incoming/teamA/churn.manifest.json',
      `failed/teamA/${EXEC}/churn.manifest.json`,
    ]);
  });

  it('finds by listing that a retried HandleFailure already moved the file', async () => {
    bucket.missingKeyReads = 'AccessDenied';
    bucket.put(KEY, 'data');
    const input = event({ error: { Error: 'AEP_RUN_FAILED', Cause: 'run failed' } });
    const first = await handleFailure(input, deps());
    bucket.mock.resetHistory();

    expect(await handleFailure(input, deps())).toEqual(first);
    expect(readKeys()).toEqual([]);
    expect(bucket.mock.commandCalls(CopyObjectCommand)).toHaveLength(0);
  });

  it('throws and keeps the original when the copy fails', async () => {
    bucket.put(KEY, 'data');
    bucket.failCopyTo.add(`failed/teamA/${EXEC}/churn.csv`);
    await expect(
      handleFailure(event({ error: { Error: 'VALIDATION_FAILED', Cause: 'bad' } }), deps()),
    ).rejects.toThrow('copy refused');
    expect(bucket.current(KEY)).toBe('data');
    expect(bucket.mock.commandCalls(DeleteObjectCommand)).toHaveLength(0);
    expect(bucket.current(`reports/${EXEC}/error.json`)).toBeUndefined();
  });

  it('is idempotent when re-run after the move', async () => {
    bucket.put(KEY, 'data');
    const input = event({ error: { Error: 'AEP_RUN_FAILED', Cause: 'run failed' } });
    const first = await handleFailure(input, deps());
    const second = await handleFailure(input, deps());
    expect(second).toEqual(first);
    expect(bucket.current(first.failedKey ?? '')).toBe('data');
  });

  it('still reports when the original is gone, without claiming a failed/ copy', async () => {
    const failure = await handleFailure(event({ error: { Error: 'CONFIG_INVALID', Cause: 'x' } }), deps());
    expect(failure.failedKey).toBeUndefined();
    expect(bucket.json(failure.errorReportKey).failedKey).toBeNull();
  });
});

describe('stageReached', () => {
  const poll = { attempt: 0, waitSeconds: 15 };
  it.each<[string, Partial<PipelineState>]>([
    ['ValidateFile', {}],
    ['CreateAudience', { validation: { ...rejectedValidation, valid: true } }],
    ['CheckAudience', { audience: { status: 'CREATING', name: 'n', refreshed: false, poll } }],
    ['StartIngestion', { audience: { status: 'READY', name: 'n', refreshed: false, poll } }],
    [
      'CheckIngestion',
      { ingestion: { status: 'PROCESSING', runId: 'r', dataFilterStartTime: 1, dataFilterEndTime: 2, poll } },
    ],
    [
      'ActivateDestinations',
      { ingestion: { status: 'SUCCESS', runId: 'r', dataFilterStartTime: 1, dataFilterEndTime: 2, poll } },
    ],
    ['ArchiveFile', { activation: { destinations: [] } }],
  ])('%s', (stage, state) => {
    expect(stageReached({ file, ...state })).toBe(stage);
  });
});

describe('handle-failure handler', () => {
  type Blob = Record<string, unknown> & { _aws: { CloudWatchMetrics: { Dimensions: string[][] }[] } };
  let blobs: Blob[] = [];
  beforeEach(() => {
    blobs = [];
    setDefaultLogSink((line) => {
      const parsed = JSON.parse(line) as Blob;
      if ('_aws' in parsed) blobs.push(parsed);
    });
  });
  afterEach(() => setDefaultLogSink((line) => process.stdout.write(`${line}\n`)));

  async function fail(key: string, code: string): Promise<void> {
    const saved = { ...process.env };
    delete process.env.NOTIFICATION_TOPIC_ARN;
    try {
      const { handler } = await import('../../functions/handle-failure/handler.ts');
      bucket.put(key, 'data');
      const invoke = handler as unknown as (event: unknown, context: Context) => Promise<unknown>;
      await invoke(
        { executionName: EXEC, state: { file: { ...file, key }, error: { Error: code, Cause: 'why' } } },
        {} as Context,
      );
    } finally {
      process.env = saved;
    }
  }
  const rejected = () =>
    blobs
      .filter((blob) => METRIC.filesRejected in blob)
      .map((blob) => ({
        service: blob.service,
        prefix: blob[PREFIX_DIMENSION],
        count: blob[METRIC.filesRejected],
        dimensions: blob._aws.CloudWatchMetrics[0]?.Dimensions,
      }));

  it.each([
    ['VALIDATION_FAILED', 'incoming/teamA/sub/churn.csv', 'teamA'],
    ['MANIFEST_INVALID', 'incoming/teamB/churn.csv', 'teamB'],
    ['MANIFEST_MISSING', 'incoming/churn.csv', ROOT_PREFIX],
  ])('counts a file rejected with %s as FilesRejected by its drop prefix', async (code, key, prefix) => {
    await fail(key, code);
    expect(rejected()).toEqual([
      { service: 'handle-failure', prefix, count: 1, dimensions: [['service', PREFIX_DIMENSION]] },
    ]);
    // The function's own blob keeps its one dimension set: FilesFailed is not split by prefix.
    expect(blobs.find((blob) => METRIC.filesFailed in blob)?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([
      ['service'],
    ]);
  });

  it.each(['AEP_REQUEST_REJECTED', 'AEP_DAILY_RUN_LIMIT', 'CONFIG_INVALID'])(
    'does not count %s, not a fault of the file, as rejected',
    async (code) => {
      await fail(KEY, code);
      expect(rejected()).toEqual([]);
      expect(blobs.some((blob) => METRIC.filesFailed in blob)).toBe(true);
    },
  );
});

describe('prefixDimension', () => {
  it.each([
    ['incoming/teamA/churn.csv', 'teamA'],
    ['incoming/teamA/deep/er/churn.csv', 'teamA'],
    ['incoming/churn.csv', ROOT_PREFIX],
    ['incoming//churn.csv', ROOT_PREFIX],
    ['incoming/équipe/churn.csv', '?quipe'],
    [`incoming/${'x'.repeat(300)}/churn.csv`, 'x'.repeat(128)],
  ])('%s → %s', (key, prefix) => {
    expect(prefixDimension(key)).toBe(prefix);
  });
});
