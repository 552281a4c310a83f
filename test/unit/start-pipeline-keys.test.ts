// Unit tests of start-pipeline with keys holding every character S3 allows: decoding in both encodings, the
// default, and the execution input and name each key gets.
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../functions/shared/log.ts';
import { executionName } from '../../functions/shared/naming.ts';
import {
  DEFAULT_KEY_ENCODING,
  decodeEventKey,
  type KeyEncoding,
  startPipeline,
} from '../../functions/start-pipeline/start-pipeline.ts';

const sfnMock = mockClient(SFNClient);
const ARN = 'arn:aws:states:us-east-1:111122223333:stateMachine:pipeline';
const NOW = new Date('2026-04-01T10:00:00Z');
const SAFE_NAME = /^[A-Za-z0-9_-]{1,80}$/;

/**
 * Each key as stored, and as S3's classic notifications spell it (form encoding: space `+`, `+` `%2B`, `%`
 * `%25`, `/` kept), written out by hand so the test does not share an encoder with the code under test.
 */
const KEYS: { stored: string; formEncoded: string }[] = [
  { stored: 'incoming/team A/spring list.csv', formEncoded: 'incoming/team+A/spring+list.csv' },
  { stored: 'incoming/c++/a+b.csv', formEncoded: 'incoming/c%2B%2B/a%2Bb.csv' },
  { stored: 'incoming/%41/100%41.csv', formEncoded: 'incoming/%2541/100%2541.csv' },
  {
    stored: 'incoming/2026-04-01T10:00:00/list.csv',
    formEncoded: 'incoming/2026-04-01T10%3A00%3A00/list.csv',
  },
  { stored: 'incoming/équipe/été.csv', formEncoded: 'incoming/%C3%A9quipe/%C3%A9t%C3%A9.csv' },
  {
    stored: 'incoming/日本/顧客.csv',
    formEncoded: 'incoming/%E6%97%A5%E6%9C%AC/%E9%A1%A7%E5%AE%A2.csv',
  },
  { stored: 'incoming/Q1 + Q2/50% off.csv', formEncoded: 'incoming/Q1+%2B+Q2/50%25+off.csv' },
];

function deps(keyEncoding: KeyEncoding) {
  return {
    sfn: new SFNClient({}),
    config: { stateMachineArn: ARN, keyEncoding },
    logger: createLogger({ service: 'test', level: 'ERROR', sink: () => undefined }),
    now: () => NOW,
  };
}

function objectCreated(key: string) {
  return {
    'detail-type': 'Object Created',
    source: 'aws.s3',
    detail: {
      bucket: { name: 'drop' },
      object: { key, size: 10, sequencer: '0061A1', 'version-id': 'v1' },
    },
  };
}

/** The input and name of each StartExecution call, in order. */
function started(): { key: string; name: string }[] {
  return sfnMock.commandCalls(StartExecutionCommand).map((call) => ({
    key: JSON.parse(call.args[0].input.input ?? '{}').file.key,
    name: call.args[0].input.name ?? '',
  }));
}

beforeEach(() => {
  sfnMock.reset();
  sfnMock.on(StartExecutionCommand).resolves({ executionArn: `${ARN}:x`, startDate: NOW });
});

describe('decodeEventKey', () => {
  it('defaults to raw, the way EventBridge sends keys', () => {
    expect(DEFAULT_KEY_ENCODING).toBe('raw');
  });

  it.each(KEYS)('raw: takes $stored as it is', ({ stored }) => {
    expect(decodeEventKey(stored, 'raw')).toBe(stored);
  });

  it.each(KEYS)('url: decodes $formEncoded back to the stored key', ({ stored, formEncoded }) => {
    expect(decodeEventKey(formEncoded, 'url')).toBe(stored);
  });

  it('url on a key sent as stored corrupts +, %41 and a stray % is left as sent: why the default matters', () => {
    expect(decodeEventKey('incoming/c++/a+b.csv', 'url')).toBe('incoming/c  /a b.csv');
    expect(decodeEventKey('incoming/%41/100%41.csv', 'url')).toBe('incoming/A/100A.csv');
    // Not decodable as a whole: taken as it is, though `+` then stays `+`.
    expect(decodeEventKey('incoming/Q1 + Q2/50% off.csv', 'url')).toBe('incoming/Q1 + Q2/50% off.csv');
  });

  it('keeps both Unicode normalization forms of é apart, as S3 stores them', () => {
    const composed = 'incoming/\u00e9t\u00e9.csv';
    const decomposed = 'incoming/e\u0301te\u0301.csv';
    expect(decodeEventKey(decomposed, 'raw')).toBe(decomposed);
    expect(decodeEventKey(encodeURIComponent(decomposed).replaceAll('%2F', '/'), 'url')).toBe(decomposed);
    expect(executionName('drop', composed, 'v1', 'S')).not.toBe(executionName('drop', decomposed, 'v1', 'S'));
  });
});

describe('startPipeline with such keys', () => {
  it('hands the stored key to the execution, raw from EventBridge', async () => {
    for (const { stored } of KEYS) {
      const result = await startPipeline(objectCreated(stored), deps('raw'));
      expect(result.status, stored).toBe('STARTED');
    }
    const calls = started();
    expect(calls.map((c) => c.key)).toEqual(KEYS.map((k) => k.stored));
    for (const { name } of calls) expect(name).toMatch(SAFE_NAME);
    expect(new Set(calls.map((c) => c.name)).size).toBe(KEYS.length);
  });

  it('asks for the same execution name whichever way the event spelled the key', async () => {
    for (const { stored } of KEYS) await startPipeline(objectCreated(stored), deps('raw'));
    for (const { formEncoded } of KEYS) await startPipeline(objectCreated(formEncoded), deps('url'));
    const calls = started();
    const raw = calls.slice(0, KEYS.length);
    const url = calls.slice(KEYS.length);
    expect(url).toEqual(raw);
    expect(raw.map((c) => c.name)).toEqual(KEYS.map((k) => executionName('drop', k.stored, 'v1', '0061A1')));
  });

  it('still ignores a manifest or a non-CSV whose name needs encoding', async () => {
    const ignored = ['incoming/team A/spring list.manifest.json', 'incoming/日本/notes 1+1.txt'];
    for (const key of ignored) {
      expect((await startPipeline(objectCreated(key), deps('raw'))).status).toBe('IGNORED');
    }
    expect(started()).toEqual([]);
  });
});
