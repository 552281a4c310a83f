// `aep-audience serve` with keys holding every character S3 allows (space, `+`, `%41`, `:`, é, 日本): an S3 client
// on its default settings drops each under incoming/, and each must end SUCCEEDED with its original archived
// under processed/ with the same characters in its folders and file name.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVE_BUCKET, type ServeSession, startServeSession } from './serve-session.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BUCKET = SERVE_BUCKET;
/** A valid file, small: the keys are what is under test. */
const BODY = readFileSync(path.join(ROOT, 'samples/customers.csv'), 'utf8')
  .split('\n')
  .slice(0, 50)
  .join('\n');

/** Folder and file name below incoming/keys/, each with characters that URLs, forms or file systems treat apart. */
const CASES: { folder: string; file: string }[] = [
  { folder: 'team A', file: 'spring list.csv' },
  { folder: 'c++', file: 'a+b.csv' },
  { folder: '%41', file: '100%41.csv' },
  { folder: '2026-04-01T10:00:00', file: 'list.csv' },
  { folder: 'équipe', file: 'été.csv' },
  { folder: '日本', file: '顧客.csv' },
];

let session: ServeSession;
let s3: S3Client;
let lines: string[];

const keys = (prefix: string) => session.keys(prefix);

/** FAILED summaries already thrown, so that each case reports its own execution's failure. */
const reported = new Set<string>();

/**
 * Polls the bucket until a key under `prefix` ends with `suffix`; a new FAILED summary ends the wait (the key it
 * names is the one the event gave the execution, so it shows what the encoding made of the key).
 */
async function waitForKey(prefix: string, suffix: string, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = (await keys(prefix)).find((k) => k.endsWith(suffix));
    if (found) return found;
    const failed = lines.find((l) => l.includes('FAILED  incoming/') && !reported.has(l));
    if (failed) {
      reported.add(failed);
      throw new Error(`an execution failed: ${failed}\noutput:\n${lines.join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(
    `nothing under ${prefix} ending with ${suffix} after ${timeoutMs} ms; output:\n${lines.join('\n')}`,
  );
}

async function waitForLine(text: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!lines.some((l) => l.includes(text))) {
    if (Date.now() > deadline) throw new Error(`no line with ${text}; output:\n${lines.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const text = (key: string) => session.text(key);

beforeAll(async () => {
  session = await startServeSession('serve-keys');
  ({ s3, lines } = session);
});

afterAll(() => session?.close());

describe('aep-audience serve with keys that need encoding', () => {
  // One at a time (tests in a file run in order): warm execution environments keep it fast, and a failure names
  // its key.
  it.each(CASES)(
    '$folder/$file ends SUCCEEDED, archived under processed/ with the same characters',
    async ({ folder, file }) => {
      const source = `incoming/keys/${folder}/${file}`;
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: source, Body: BODY }));
      const archived = await waitForKey(`processed/keys/${folder}/`, `/${file}`);
      const execution = archived.slice(`processed/keys/${folder}/`.length).split('/')[0]!;
      expect(archived).toBe(`processed/keys/${folder}/${execution}/${file}`);
      expect(execution).toMatch(/^[A-Za-z0-9_-]{1,71}-[0-9a-f]{8}$/);
      expect(await text(archived)).toBe(BODY);
      await waitForLine(`SUCCEEDED  ${source}  (execution ${execution})`);
      // result.json is the last thing an execution writes.
      await waitForKey(`reports/${execution}/`, '/result.json');
      expect(JSON.parse(await text(`reports/${execution}/result.json`))).toMatchObject({
        status: 'SUCCEEDED',
      });
      expect(await keys(`incoming/keys/${folder}/`)).toEqual([]);
    },
    60_000,
  );
});
