// Unit tests of start-pipeline: event parsing, ignored keys, deterministic names, duplicates, malformed events.
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../functions/shared/log.ts';
import { executionInputSchema } from '../../functions/shared/state.ts';
import {
  decodeEventKey,
  GZIP_EXPANSION,
  MalformedEventError,
  type StartPipelineDeps,
  startPipeline,
} from '../../functions/start-pipeline/start-pipeline.ts';

const sfnMock = mockClient(SFNClient);
const ARN = 'arn:aws:states:us-east-1:111122223333:stateMachine:pipeline';
const NOW = new Date('2026-04-01T10:00:00Z');
let logLines: Record<string, unknown>[];

function deps(keyEncoding: 'url' | 'raw' = 'url'): StartPipelineDeps {
  return {
    sfn: new SFNClient({}),
    config: { stateMachineArn: ARN, keyEncoding },
    logger: createLogger({
      service: 'test',
      level: 'DEBUG',
      sink: (line) => logLines.push(JSON.parse(line)),
    }),
    now: () => NOW,
  };
}

function objectCreated(key: string, object: Record<string, unknown> = {}) {
  return {
    version: '0',
    'detail-type': 'Object Created',
    source: 'aws.s3',
    time: '2026-04-01T09:59:59Z',
    detail: {
      bucket: { name: 'drop' },
      object: { key, size: 120, etag: 'abc', sequencer: '0061A1', ...object },
      reason: 'PutObject',
    },
  };
}

beforeEach(() => {
  sfnMock.reset();
  logLines = [];
});

describe('startPipeline', () => {
  it('starts one execution with a readable name and the file as input', async () => {
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: `${ARN}:x`, startDate: NOW });
    const result = await startPipeline(
      objectCreated('incoming/teamA/churn.csv', { 'version-id': 'v1' }),
      deps(),
    );

    expect(result).toMatchObject({ status: 'STARTED', executionArn: `${ARN}:x` });
    const call = sfnMock.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(call?.stateMachineArn).toBe(ARN);
    expect(call?.name).toMatch(/^teamA-churn-[0-9a-f]{8}$/);
    expect(result.status === 'STARTED' && result.executionName).toBe(call?.name);
    const input = executionInputSchema.parse(JSON.parse(call?.input ?? ''));
    expect(input.file).toEqual({
      bucket: 'drop',
      key: 'incoming/teamA/churn.csv',
      versionId: 'v1',
      sequencer: '0061A1',
      size: 120,
      dataBytes: 120,
      eventTime: '2026-04-01T09:59:59Z',
    });
  });

  it('sizes the CSV data for the LargeFile? choice: a gzip by its expected expansion, a folder by its parts', async () => {
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: `${ARN}:x`, startDate: NOW });
    const s3Mock = mockClient(S3Client);
    s3Mock.on(ListObjectsV2Command).resolves({
      Contents: [
        { Key: 'incoming/teamA/churn.parts/part-00000.csv', Size: 1000 },
        { Key: 'incoming/teamA/churn.parts/part-00001.csv.gz', Size: 100 },
        { Key: 'incoming/teamA/churn.parts/_SUCCESS', Size: 0 },
      ],
    });
    const dataBytesOf = async (key: string, size: number) => {
      sfnMock.resetHistory();
      await startPipeline(objectCreated(key, { size }), { ...deps(), s3: new S3Client({}) });
      const call = sfnMock.commandCalls(StartExecutionCommand)[0]?.args[0].input;
      return executionInputSchema.parse(JSON.parse(call?.input ?? '')).file.dataBytes;
    };
    try {
      expect(await dataBytesOf('incoming/teamA/churn.csv.gz', 50)).toBe(50 * GZIP_EXPANSION);
      expect(await dataBytesOf('incoming/teamA/churn.parts/_SUCCESS', 0)).toBe(1000 + 100 * GZIP_EXPANSION);
      expect(s3Mock.commandCalls(ListObjectsV2Command)[0]?.args[0].input).toMatchObject({
        Bucket: 'drop',
        Prefix: 'incoming/teamA/churn.parts/',
      });
    } finally {
      s3Mock.restore();
    }
  });

  it('asks for the same name on redelivery and reports ExecutionAlreadyExists as a duplicate', async () => {
    sfnMock
      .on(StartExecutionCommand)
      .resolvesOnce({ executionArn: 'a', startDate: NOW })
      .rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));
    const event = objectCreated('incoming/churn.csv');
    const first = await startPipeline(event, deps());
    const second = await startPipeline(event, deps());

    expect(first.status).toBe('STARTED');
    expect(second).toEqual({
      status: 'DUPLICATE',
      executionName: first.status === 'STARTED' ? first.executionName : '',
    });
    expect(logLines.some((l) => String(l.message).startsWith('duplicate event'))).toBe(true);
    expect(logLines.some((l) => l.level === 'ERROR')).toBe(false);
  });

  it('treats the running execution returned for the same input as a duplicate', async () => {
    const earlier = new Date(NOW.getTime() - 60_000);
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'a', startDate: earlier });
    const result = await startPipeline(objectCreated('incoming/churn.csv'), deps());
    expect(result.status).toBe('DUPLICATE');
  });

  it('gives a new upload of the same key a new name (new sequencer, or new version)', async () => {
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'a', startDate: NOW });
    await startPipeline(objectCreated('incoming/churn.csv', { sequencer: '01' }), deps());
    await startPipeline(objectCreated('incoming/churn.csv', { sequencer: '02' }), deps());
    await startPipeline(objectCreated('incoming/churn.csv', { sequencer: '02', 'version-id': 'v9' }), deps());
    const names = sfnMock.commandCalls(StartExecutionCommand).map((c) => c.args[0].input.name);
    expect(new Set(names).size).toBe(3);
  });

  it.each([
    ['incoming/teamA/churn.manifest.json', 'a manifest'],
    ['incoming/teamA/', 'a folder marker'],
    ['incoming/notes.txt', 'not a .csv or .csv.gz file'],
    ['staging/audiences/x/churn.csv', 'not under incoming/'],
  ])('ignores %s', async (key, reason) => {
    const result = await startPipeline(objectCreated(key), deps());
    expect(result.status).toBe('IGNORED');
    expect(result.status === 'IGNORED' && result.reason).toContain(reason);
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
    expect(logLines.some((l) => l.message === 'ignored')).toBe(true);
  });

  it('keeps .CSV in upper case', async () => {
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'a', startDate: NOW });
    const result = await startPipeline(objectCreated('incoming/LIST.CSV'), deps());
    expect(result.status).toBe('STARTED');
  });

  it('decodes the URL-encoded key S3 sends, or takes it raw when configured', async () => {
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'a', startDate: NOW });
    await startPipeline(objectCreated('incoming/team+A/spring%28v2%29.csv'), deps('url'));
    await startPipeline(objectCreated('incoming/a+b.csv'), deps('raw'));
    const keys = sfnMock
      .commandCalls(StartExecutionCommand)
      .map((c) => JSON.parse(c.args[0].input.input ?? '{}').file.key);
    expect(keys).toEqual(['incoming/team A/spring(v2).csv', 'incoming/a+b.csv']);
    expect(decodeEventKey('incoming/100%.csv', 'url')).toBe('incoming/100%.csv');
  });

  it('rejects a malformed event with the reason, logged', async () => {
    const event = objectCreated('incoming/a.csv');
    const { sequencer: _dropped, ...objectWithoutSequencer } = event.detail.object;
    const malformed = { ...event, detail: { ...event.detail, object: objectWithoutSequencer } };

    await expect(startPipeline(malformed, deps())).rejects.toThrow(MalformedEventError);
    await expect(startPipeline({ hello: 'world' }, deps())).rejects.toThrow(/not an S3 Object Created event/);
    await expect(startPipeline(malformed, deps())).rejects.toThrow(/detail\.object\.sequencer/);
    expect(logLines.filter((l) => l.message === 'malformed event')).toHaveLength(3);
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('lets other Step Functions errors fail the invocation', async () => {
    sfnMock.on(StartExecutionCommand).rejects(new Error('throttled'));
    await expect(startPipeline(objectCreated('incoming/a.csv'), deps())).rejects.toThrow('throttled');
  });
});
