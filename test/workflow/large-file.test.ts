// A file over `largeFileThresholdBytes` takes the `LargeFile?` branch: ValidateLargeFile, the shipped bundle
// (the range workers started from its own index.mjs), parses byte ranges on worker threads with ranged GETs,
// every call authorized as in AWS, and the run ends as a small file's would, with the same staged copy.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalPipeline } from '../../local/runner/pipeline.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const cdkContext = JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context;

let workDir: string;
let pipeline: LocalPipeline;
const progress: string[] = [];

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'aep-large-'));
  pipeline = await LocalPipeline.start({
    stateDir: path.join(ROOT, '.local', 'test-large-file'),
    ephemeral: true,
    timeScale: 2000,
    code: 'bundle',
    context: { ...cdkContext, pipeline: { ...cdkContext.pipeline, largeFileThresholdBytes: 100_000 } },
    // Many slices of a small file: the workers, the cuts and the ordered merge all take part.
    functionEnvironment: { VALIDATION_SPLIT_BYTES: '16384' },
    progress: (line) => progress.push(line),
  });
});

afterAll(async () => {
  await pipeline?.close();
  rmSync(workDir, { recursive: true, force: true });
});

describe('a file over the large-file threshold', () => {
  it('is validated by ValidateLargeFile on worker threads and activated', async () => {
    const rows = Array.from(
      { length: 4000 },
      (_, i) => `user${i}@example.com,"Line one\nline ""two"" of ${i}",${i % 50},${i % 2 === 0}`,
    );
    const file = path.join(workDir, 'big-list.csv');
    // A CRLF header over LF rows, as concatenated exports have.
    writeFileSync(file, `email,note,score,member\r\n${rows.join('\n')}\n`);

    const summary = await pipeline.waitFor(
      await pipeline.dropFile(file, { key: 'incoming/large/big-list.csv' }),
    );

    expect(summary, progress.join('\n')).toMatchObject({ status: 'SUCCEEDED', validation: { rows: 4000 } });
    expect(progress.join('\n')).toContain('ValidateLargeFile');
    expect(progress.join('\n')).not.toMatch(/\bValidateFile\b/);
    const validation = (await pipeline.readJson(`reports/${summary.execution}/validation.json`)) as {
      fields: { name: string; type: string }[];
    };
    expect(validation.fields.map((f) => f.type)).toEqual(['string', 'string', 'integer', 'boolean']);
    expect(pipeline.denials).toEqual([]);
  });
});
