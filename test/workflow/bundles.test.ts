// The shipped code: the bundles `cdk synth` writes (index.mjs per function, Node 24), run by the same local
// runner through the happy path and a rejected file, with every AWS call authorized as in AWS.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalPipeline } from '../../local/runner/pipeline.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const sample = path.join(ROOT, 'samples/customers.csv');
const sampleManifest = path.join(ROOT, 'samples/customers.manifest.json');
const badCsv = path.join(ROOT, 'test/fixtures/workflow/bad-email.csv');

let workDir: string;
let pipeline: LocalPipeline;
const progress: string[] = [];

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'aep-bundles-'));
  pipeline = await LocalPipeline.start({
    // Under .local/ so the bundles are built once into .local/.cache and shared with the other bundle tests.
    stateDir: path.join(ROOT, '.local', 'test-bundles'),
    ephemeral: true,
    timeScale: 2000,
    code: 'bundle',
    progress: (line) => progress.push(line),
  });
});

afterAll(async () => {
  await pipeline?.close();
  rmSync(workDir, { recursive: true, force: true });
});

describe('the synthesized bundles, run locally', () => {
  it('take the sample to SUCCEEDED', async () => {
    const summary = await pipeline.waitFor(
      await pipeline.dropFile(sample, { key: 'incoming/bundles/customers.csv', manifest: sampleManifest }),
    );
    expect(summary, progress.join('\n')).toMatchObject({ status: 'SUCCEEDED', validation: { rows: 3000 } });
    expect(summary.destinations.map((d) => d.status)).toEqual(['ADDED', 'ADDED']);
    expect(pipeline.denials).toEqual([]);
  });

  it('reject a bad file into failed/ with VALIDATION_FAILED', async () => {
    const summary = await pipeline.waitFor(
      await pipeline.dropFile(badCsv, { key: 'incoming/bundles/bad-email.csv' }),
    );
    expect(summary, progress.join('\n')).toMatchObject({
      status: 'FAILED',
      error: { code: 'VALIDATION_FAILED' },
    });
    expect(await pipeline.readJson(`reports/${summary.execution}/error.json`)).toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    expect(pipeline.denials).toEqual([]);
  });
});
