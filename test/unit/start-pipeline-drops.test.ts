// Unit tests of start-pipeline with the other drops: a `.csv.gz` file starts a run; in a `.parts/` folder only
// the completion marker does, once, with the marker as the execution's file; nested folders start nothing.
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../functions/shared/log.ts';
import { audienceNameFromKey } from '../../functions/shared/naming.ts';
import { executionInputSchema } from '../../functions/shared/state.ts';
import { ignoreReason, startPipeline } from '../../functions/start-pipeline/start-pipeline.ts';

const sfnMock = mockClient(SFNClient);
const ARN = 'arn:aws:states:us-east-1:111122223333:stateMachine:pipeline';
const NOW = new Date('2026-04-01T10:00:00Z');
const PART_REASON = 'a part of a folder drop; its completion marker starts the run';
let ignoredLines: Record<string, unknown>[];

function deps() {
  return {
    sfn: new SFNClient({}),
    config: { stateMachineArn: ARN, keyEncoding: 'raw' as const },
    logger: createLogger({
      service: 'test',
      level: 'INFO',
      sink: (line) => {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry.message === 'ignored') ignoredLines.push(entry);
      },
    }),
    now: () => NOW,
  };
}

let sequencer = 0x61a1;
function objectCreated(key: string, size = 100) {
  sequencer += 1;
  return {
    'detail-type': 'Object Created',
    source: 'aws.s3',
    time: '2026-04-01T09:59:59Z',
    detail: {
      bucket: { name: 'drop' },
      object: { key, size, sequencer: sequencer.toString(16).toUpperCase(), 'version-id': `v${sequencer}` },
    },
  };
}

function started() {
  return sfnMock.commandCalls(StartExecutionCommand).map((call) => ({
    name: call.args[0].input.name ?? '',
    input: executionInputSchema.parse(JSON.parse(call.args[0].input.input ?? '{}')),
    raw: call.args[0].input.input ?? '',
  }));
}

beforeEach(() => {
  sfnMock.reset();
  sfnMock.on(StartExecutionCommand).resolves({ executionArn: `${ARN}:x`, startDate: NOW });
  ignoredLines = [];
});

describe('a .csv.gz file', () => {
  it.each(['incoming/teamA/churn.csv.gz', 'incoming/teamA/CHURN.CSV.GZ'])('%s starts a run', async (key) => {
    const result = await startPipeline(objectCreated(key), deps());
    expect(result.status).toBe('STARTED');
    expect(started()[0]?.input.file.key).toBe(key);
    expect(started()[0]?.name).toMatch(/^teamA-(churn|CHURN)-[0-9a-f]{8}$/);
  });

  it.each(['incoming/churn.gz', 'incoming/churn.csv.zip', 'incoming/churn.tsv.gz'])('%s does not', (key) => {
    expect(ignoreReason(key)).toBe('not a .csv or .csv.gz file');
  });
});

describe('a Spark folder drop', () => {
  const folder = 'incoming/teamA/churn.parts/';
  const parts = [
    'part-00000-9f1c.c000.csv',
    'part-00001-9f1c.c000.csv',
    'part-00002-9f1c.c000.csv',
    '.part-00000-9f1c.c000.csv.crc',
  ];

  it('starts nothing for its parts and one execution for _SUCCESS, whose input names the marker only', async () => {
    for (const name of parts) {
      expect(await startPipeline(objectCreated(`${folder}${name}`, 4096), deps())).toEqual({
        status: 'IGNORED',
        reason: PART_REASON,
      });
    }
    expect(started()).toEqual([]);
    expect(ignoredLines.map((l) => l.key)).toEqual(parts.map((name) => `${folder}${name}`));

    const result = await startPipeline(objectCreated(`${folder}_SUCCESS`, 0), deps());

    expect(result.status).toBe('STARTED');
    const [call, ...others] = started();
    expect(others).toEqual([]);
    expect(call?.name).toMatch(/^teamA-churn-[0-9a-f]{8}$/);
    expect(call?.input.file).toEqual({
      bucket: 'drop',
      key: `${folder}_SUCCESS`,
      versionId: `v${sequencer}`,
      sequencer: sequencer.toString(16).toUpperCase(),
      size: 0,
      eventTime: '2026-04-01T09:59:59Z',
    });
    expect(audienceNameFromKey(call!.input.file.key)).toBe('teamA/churn');
    // Nothing of the folder's listing goes into the state: Step Functions caps a payload at 256 KiB.
    expect(Object.keys(JSON.parse(call!.raw))).toEqual(['file']);
  });
});

describe('a Redshift and a Snowflake folder drop', () => {
  it('starts from the manifest UNLOAD writes after its parts', async () => {
    const folder = 'incoming/crm/weekly.parts/';
    for (const name of ['0000_part_00', '0001_part_00', '0000_part_00.gz']) {
      expect((await startPipeline(objectCreated(`${folder}${name}`), deps())).status).toBe('IGNORED');
    }
    expect((await startPipeline(objectCreated(`${folder}manifest`, 300), deps())).status).toBe('STARTED');
    expect(started().map((c) => c.input.file.key)).toEqual([`${folder}manifest`]);
    expect(started()[0]?.name).toMatch(/^crm-weekly-[0-9a-f]{8}$/);
  });

  it('starts from the _SUCCESS a user uploads after a Snowflake COPY INTO', async () => {
    const folder = 'incoming/snow.parts/';
    for (const name of ['data_0_0_0.csv.gz', 'data_0_1_0.csv.gz']) {
      expect(ignoreReason(`${folder}${name}`)).toBe(PART_REASON);
    }
    expect(ignoreReason(`${folder}_SUCCESS`)).toBeUndefined();
  });
});

describe('keys in and around .parts/ folders', () => {
  it.each([
    // Objects directly in a folder drop that are not its marker.
    ['incoming/x/y.parts/churn.csv', PART_REASON],
    ['incoming/x/y.parts/_success', PART_REASON],
    ['incoming/x/y.parts/MANIFEST', PART_REASON],
    ['incoming/x/y.parts/y.manifest.json', PART_REASON],
    ['incoming/x/y.parts/_temporary_$folder$', PART_REASON],
    // Deeper in a folder drop: Spark's _temporary/, partitioned output.
    ['incoming/x/y.parts/_temporary/0/_SUCCESS', 'in a subfolder of a folder drop'],
    ['incoming/x/y.parts/country=FR/part-00000.csv', 'in a subfolder of a folder drop'],
    // A folder drop inside another.
    ['incoming/x/a.parts/b.parts/_SUCCESS', 'in a .parts/ folder inside another .parts/ folder'],
    ['incoming/a.parts/c/b.parts/_SUCCESS', 'in a .parts/ folder inside another .parts/ folder'],
    ['incoming/x/y.parts/', 'a folder marker'],
    ['staging/y.parts/_SUCCESS', 'not under incoming/'],
    // Names that only look like a folder drop.
    ['incoming/x/y.parts', 'not a .csv or .csv.gz file'],
    ['incoming/x/y.parts_$folder$', 'not a .csv or .csv.gz file'],
    ['incoming/x/_SUCCESS', 'not a .csv or .csv.gz file'],
    ['incoming/.parts/_SUCCESS', 'not a .csv or .csv.gz file'],
  ])('%s is ignored: %s', async (key, reason) => {
    const result = await startPipeline(objectCreated(key), deps());
    expect(result.status).toBe('IGNORED');
    expect(result.status === 'IGNORED' && result.reason).toContain(reason);
    expect(started()).toEqual([]);
  });

  it.each([
    'incoming/x/Y.PARTS/_SUCCESS',
    'incoming/y.parts/manifest',
    'incoming/team A/q1 + q2.parts/_SUCCESS',
    'incoming/a.parts.csv',
    'incoming/x.parts.d/list.csv',
  ])('%s starts a run', (key) => {
    expect(ignoreReason(key)).toBeUndefined();
  });
});
