// The local pipeline with S3 judged by moto: the bucket and each function's role made there from the
// synthesized template, each function signing with its own role's credentials. The sample, a rejected file
// and a refresh end as they do on the embedded server, and neither moto nor the gateway refuses a call.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LocalPipeline } from '../../local/runner/pipeline.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const sample = path.join(ROOT, 'samples/customers.csv');
const sampleManifest = path.join(ROOT, 'samples/customers.manifest.json');
const badCsv = path.join(ROOT, 'test/fixtures/workflow/bad-email.csv');
const smallCsv = path.join(ROOT, 'test/fixtures/workflow/customers-small.csv');

let workDir: string;
let pipeline: LocalPipeline;
const progress: string[] = [];
const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };

async function keys(prefix: string): Promise<string[]> {
  const listed = await pipeline.s3.send(
    new ListObjectsV2Command({ Bucket: pipeline.bucket, Prefix: prefix }),
  );
  return (listed.Contents ?? []).map((o) => o.Key ?? '');
}

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'aep-moto-'));
  const admin = inject('motoAdmin');
  process.env.AWS_ACCESS_KEY_ID = admin.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = admin.secretAccessKey;
  pipeline = await LocalPipeline.start({
    stateDir: path.join(workDir, 'state'),
    ephemeral: true,
    timeScale: 2000,
    s3Endpoint: inject('motoUrl'),
    progress: (line) => progress.push(line),
  });
});

afterAll(async () => {
  await pipeline?.close();
  process.env.AWS_ACCESS_KEY_ID = saved.id;
  process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
  rmSync(workDir, { recursive: true, force: true });
});

describe('the pipeline with S3 at moto, IAM enforced', () => {
  it('runs the sample to SUCCEEDED, its original archived and its copy staged at moto', async () => {
    const key = 'incoming/moto/customers.csv';
    const summary = await pipeline.waitFor(
      await pipeline.dropFile(sample, { key, manifest: sampleManifest }),
    );
    expect(summary, progress.join('\n')).toMatchObject({ status: 'SUCCEEDED', refreshed: false });
    expect(summary.validation).toMatchObject({ valid: true, rows: 3000, invalidRows: 0 });
    expect(await keys(`processed/moto/${summary.execution}/`)).toEqual([
      `processed/moto/${summary.execution}/customers.csv`,
      `processed/moto/${summary.execution}/customers.manifest.json`,
    ]);
    expect(await keys('incoming/moto/')).toEqual([]);
    expect((await keys('staging/audiences/')).length).toBeGreaterThan(0);
    await pipeline.s3.send(
      new HeadObjectCommand({ Bucket: pipeline.bucket, Key: `reports/${summary.execution}/result.json` }),
    );
    expect(pipeline.denials).toEqual([]);
  });

  it('refreshes the audience on a second upload of the same key', async () => {
    const key = 'incoming/moto/small.csv';
    const first = await pipeline.waitFor(await pipeline.dropFile(smallCsv, { key }));
    const second = await pipeline.waitFor(await pipeline.dropFile(smallCsv, { key }));
    expect([first.status, second.status], progress.join('\n')).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(second.refreshed).toBe(true);
    expect(second.audienceId).toBe(first.audienceId);
    expect(pipeline.denials).toEqual([]);
  });

  it('rejects a bad file into failed/ with error.json, nothing sent to AEP', async () => {
    const key = 'incoming/moto/bad-email.csv';
    const summary = await pipeline.waitFor(await pipeline.dropFile(badCsv, { key }));
    expect(summary, progress.join('\n')).toMatchObject({
      status: 'FAILED',
      error: { code: 'VALIDATION_FAILED' },
    });
    expect(await keys(`failed/moto/${summary.execution}/`)).toEqual([
      `failed/moto/${summary.execution}/bad-email.csv`,
    ]);
    expect(await pipeline.readJson(`reports/${summary.execution}/error.json`)).toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    expect(pipeline.denials).toEqual([]);
  });
});

describe('a folder drop with S3 at moto, IAM enforced', () => {
  it('starts one run from its marker and keeps every part together, moto allowing each call', async () => {
    const local = path.join(workDir, 'moto-folder.parts');
    mkdirSync(local);
    const [header, ...rows] = readFileSync(smallCsv, 'utf8').trimEnd().split('\n');
    writeFileSync(path.join(local, 'part-00000.csv'), `${[header, ...rows.slice(0, 5)].join('\n')}\n`);
    writeFileSync(path.join(local, 'part-00001.csv'), `${[header, ...rows.slice(5)].join('\n')}\n`);

    const summary = await pipeline.waitFor(await pipeline.dropFolder(local));

    expect(summary.file).toBe('incoming/moto-folder.parts/_SUCCESS');
    expect(summary).toMatchObject({ status: 'SUCCEEDED', validation: { rows: rows.length } });
    const kept = `processed/${summary.execution}/moto-folder.parts/`;
    expect(await keys(kept)).toEqual(
      ['_SUCCESS', 'part-00000.csv', 'part-00001.csv'].map((n) => `${kept}${n}`),
    );
    expect(await keys('incoming/moto-folder.parts/')).toEqual([]);
    expect(pipeline.denials).toEqual([]);
  });
});

describe('aep-audience run --s3-endpoint', () => {
  it('runs the sample from the command line with S3 at moto', async () => {
    const admin = inject('motoAdmin');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [path.join(ROOT, 'bin/aep-audience.js'), 'run', sample, '--s3-endpoint', inject('motoUrl'), '--json'],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          AWS_ACCESS_KEY_ID: admin.accessKeyId,
          AWS_SECRET_ACCESS_KEY: admin.secretAccessKey,
          AEP_AUDIENCE_LOCAL_DIR: path.join(workDir, 'cli'),
        },
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    expect(JSON.parse(stdout)).toMatchObject({ status: 'SUCCEEDED', file: 'incoming/customers.csv' });
  });
});
