// `aep-audience serve` and `run` with the other drops, through the AWS CLI as a team uses it: a Spark-style
// `.parts/` folder and its `_SUCCESS` start exactly one execution for the audience (its parts none), a `.csv.gz`
// starts one, a local folder run drops its parts then its marker, and each original is kept whole.
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Serving } from '../../local/serve.ts';
import { SERVE_BUCKET, type ServeSession, startServeSession } from './serve-session.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BUCKET = SERVE_BUCKET;
const [HEADER = '', ...ROWS] = readFileSync(path.join(ROOT, 'samples/customers.csv'), 'utf8').split('\n');
/** Every part carries the header, as Spark's `header=true`, Redshift's `HEADER` and Snowflake's `HEADER = TRUE` write it. */
const part = (from: number, to: number) => `${[HEADER, ...ROWS.slice(from, to)].join('\n')}\n`;
const SPARK_PARTS: Record<string, string> = {
  'part-00000-4d1e.c000.csv': part(0, 20),
  'part-00001-4d1e.c000.csv': part(20, 40),
  'part-00002-4d1e.c000.csv': part(40, 60),
};

/** `aws` v1 or v2 on the PATH; without it the awscli cases are skipped (the folder run below still runs). */
const HAS_AWSCLI = spawnSync('aws', ['--version'], { stdio: 'ignore' }).status === 0;
const run = promisify(execFile);

let session: ServeSession;
let dir: string;
let serving: Serving;
let s3: S3Client;
let lines: string[];

/** The AWS CLI against serve, as its banner says, with no profile, config or instance metadata of this machine. */
async function aws(...args: string[]): Promise<void> {
  const { AWS_PROFILE: _profile, ...env } = process.env;
  await run('aws', ['--endpoint-url', serving.url, 's3', ...args], {
    cwd: dir,
    timeout: 60_000,
    env: {
      ...env,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: path.join(dir, 'aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'aws-config'),
      AWS_EC2_METADATA_DISABLED: 'true',
    },
  });
}

const keys = (prefix: string) => session.keys(prefix);

const text = (key: string) => session.text(key);

/** The executions whose `$.file.key` starts with `prefix`, once start-pipeline has answered every upload. */
async function executionsFor(prefix: string) {
  await serving.pipeline.uploadsSettled();
  return serving.pipeline.sfn
    .list()
    .filter((execution) => (JSON.parse(execution.input).file.key as string).startsWith(prefix));
}

/** Where the run kept its original: processed/ when it succeeded, failed/ when the file was refused. */
const keptUnder = (status: string) => (status === 'SUCCEEDED' ? 'processed' : 'failed');

function writeFolder(name: string, files: Record<string, string>): string {
  const at = path.join(dir, name);
  mkdirSync(at, { recursive: true });
  for (const [file, body] of Object.entries(files)) writeFileSync(path.join(at, file), body);
  return at;
}

beforeAll(async () => {
  session = await startServeSession('serve-drops');
  ({ dir, serving, s3, lines } = session);
  writeFileSync(path.join(dir, 'aws-config'), '');
});

afterAll(() => session?.close());

describe.skipIf(!HAS_AWSCLI)('a Spark folder drop through serve with the AWS CLI', () => {
  const FOLDER = 'incoming/drops/spark.parts/';

  it('starts nothing for its parts and one execution for its _SUCCESS, and keeps the folder whole', async () => {
    writeFolder('spark.parts', { ...SPARK_PARTS, _SUCCESS: '' });
    // The documented way: the parts, then the marker, as Spark itself writes them.
    await aws('cp', 'spark.parts', `s3://${BUCKET}/${FOLDER}`, '--recursive', '--exclude', '_SUCCESS');
    expect((await keys(FOLDER)).sort()).toEqual(Object.keys(SPARK_PARTS).map((name) => `${FOLDER}${name}`));
    expect(await executionsFor(FOLDER)).toEqual([]);

    await aws('cp', 'spark.parts/_SUCCESS', `s3://${BUCKET}/${FOLDER}_SUCCESS`);

    const started = await executionsFor(FOLDER);
    expect(started).toHaveLength(1);
    const [execution] = started;
    expect(execution!.name).toMatch(/^drops-spark-[0-9a-f]{8}$/);
    expect(JSON.parse(execution!.input).file).toMatchObject({
      bucket: BUCKET,
      key: `${FOLDER}_SUCCESS`,
      size: 0,
    });
    const summary = await serving.pipeline.waitFor(execution!.name);
    const kept = `${keptUnder(summary.status)}/drops/${execution!.name}/spark.parts/`;
    expect((await keys(kept)).sort()).toEqual(
      ['_SUCCESS', ...Object.keys(SPARK_PARTS)].map((name) => `${kept}${name}`),
    );
    for (const [name, body] of Object.entries(SPARK_PARTS)) expect(await text(`${kept}${name}`)).toBe(body);
    expect(await keys(FOLDER)).toEqual([]);
    expect(serving.pipeline.denials).toEqual([]);

    expect(summary.status, lines.join('\n')).toBe('SUCCEEDED');
    const result = JSON.parse(await text(`reports/${execution!.name}/result.json`));
    expect(result).toMatchObject({
      archivedKey: kept,
      audienceName: 'drops/spark',
      validation: { rows: 60 },
    });
    const validation = JSON.parse(await text(`reports/${execution!.name}/validation.json`));
    expect(validation.parts.map((p: { key: string }) => p.key)).toEqual(
      Object.keys(SPARK_PARTS).map((name) => `${FOLDER}${name}`),
    );
  }, 90_000);

  it('starts exactly one execution when one `cp --recursive` uploads the parts and _SUCCESS at once', async () => {
    const folder = 'incoming/drops/at-once.parts/';
    writeFolder('at-once.parts', { ...SPARK_PARTS, _SUCCESS: '' });

    await aws('cp', 'at-once.parts', `s3://${BUCKET}/${folder}`, '--recursive');

    const started = await executionsFor(folder);
    expect(started.map((e) => JSON.parse(e.input).file.key)).toEqual([`${folder}_SUCCESS`]);
    expect(started[0]!.name).toMatch(/^drops-at-once-[0-9a-f]{8}$/);
    // Parallel uploads may land the marker before a part: the run's outcome is not this test's.
    await serving.pipeline.waitFor(started[0]!.name);
  }, 90_000);
});

describe.skipIf(!HAS_AWSCLI)('a .csv.gz through serve with the AWS CLI', () => {
  it('starts one execution named after the audience and keeps the compressed original byte for byte', async () => {
    const gzipped = gzipSync(part(0, 30));
    writeFileSync(path.join(dir, 'gz-list.csv.gz'), gzipped);

    await aws('cp', 'gz-list.csv.gz', `s3://${BUCKET}/incoming/drops/gz-list.csv.gz`);

    const started = await executionsFor('incoming/drops/gz-list');
    expect(started).toHaveLength(1);
    const [execution] = started;
    expect(execution!.name).toMatch(/^drops-gz-list-[0-9a-f]{8}$/);
    const summary = await serving.pipeline.waitFor(execution!.name);
    const kept = `${keptUnder(summary.status)}/drops/${execution!.name}/gz-list.csv.gz`;
    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: kept }));
    expect(Buffer.from(await object.Body!.transformToByteArray()).equals(gzipped)).toBe(true);
    expect(await keys('incoming/drops/gz-list')).toEqual([]);

    expect(summary.status, lines.join('\n')).toBe('SUCCEEDED');
    const result = JSON.parse(await text(`reports/${execution!.name}/result.json`));
    expect(result).toMatchObject({ audienceName: 'drops/gz-list', validation: { rows: 30 } });
  }, 90_000);
});

describe('a local folder run (aep-audience run <folder>)', () => {
  it('uploads a Redshift UNLOAD folder, parts first, its manifest last and pointed at the local parts', async () => {
    const parts = { '0000_part_00': part(0, 10), '0001_part_00': part(10, 25) };
    const manifest = {
      entries: Object.entries(parts).map(([name, body]) => ({
        url: `s3://prod-warehouse/unload/weekly/${name}`,
        meta: { content_length: Buffer.byteLength(body) },
      })),
    };
    const local = writeFolder('weekly.parts', { ...parts, manifest: JSON.stringify(manifest) });
    const folder = 'incoming/weekly.parts/';

    const name = await serving.pipeline.dropFolder(local);

    expect(name).toMatch(/^weekly-[0-9a-f]{8}$/);
    expect((await executionsFor(folder)).map((e) => e.name)).toEqual([name]);
    expect(serving.pipeline.startedRecords().filter((r) => r.key.startsWith(folder))).toEqual([
      expect.objectContaining({ key: `${folder}manifest`, execution: name }),
    ]);
    const summary = await serving.pipeline.waitFor(name);
    const kept = `${keptUnder(summary.status)}/${name}/weekly.parts/`;
    expect((await keys(kept)).sort()).toEqual(
      ['0000_part_00', '0001_part_00', 'manifest'].map((n) => `${kept}${n}`),
    );
    expect(JSON.parse(await text(`${kept}manifest`)).entries.map((e: { url: string }) => e.url)).toEqual([
      `s3://${BUCKET}/${folder}0000_part_00`,
      `s3://${BUCKET}/${folder}0001_part_00`,
    ]);

    expect(summary.status, lines.join('\n')).toBe('SUCCEEDED');
    expect(summary).toMatchObject({ validation: { rows: 25 } });
  }, 90_000);
});
