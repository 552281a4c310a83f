// `aep-audience serve` driven as a team drives a bucket: an S3 client on its default settings puts files under
// incoming/ and polls for what the pipeline writes back through the same endpoint.
import { spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Serving, startServe } from '../../local/serve.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SAMPLE = path.join(ROOT, 'samples/customers.csv');
const SAMPLE_MANIFEST = path.join(ROOT, 'samples/customers.manifest.json');
const BUCKET = 'aep-audience-local';

let dir: string;
let serving: Serving | undefined;
let lines: string[];
let s3: S3Client;

/** What a user of `aws s3` or an SDK does: endpoint, region, any key pair; everything else left at its default. */
function defaultClient(url: string): S3Client {
  return new S3Client({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

async function serve(): Promise<Serving> {
  lines = [];
  serving = await startServe({
    stateDir: path.join(dir, 'state'),
    host: '127.0.0.1',
    port: 0,
    timeScale: 2000,
    print: (line) => lines.push(line),
  });
  s3?.destroy();
  s3 = defaultClient(serving.url);
  return serving;
}

async function keys(prefix: string): Promise<string[]> {
  const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (page.Contents ?? []).map((o) => o.Key!);
}

/** Polls the bucket, as a client would, until a key under `prefix` ends with `suffix`. */
async function waitForKey(prefix: string, suffix: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = (await keys(prefix)).find((k) => k.endsWith(suffix));
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(
    `nothing under ${prefix} ending with ${suffix} after ${timeoutMs} ms; output:\n${lines.join('\n')}`,
  );
}

/** Waits for the printed output to contain `text` (the summary follows the execution's last write). */
async function waitForLine(text: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!lines.some((l) => l.includes(text))) {
    if (Date.now() > deadline) throw new Error(`no line with ${text}; output:\n${lines.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function bytes(key: string): Promise<Buffer> {
  const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await object.Body!.transformToByteArray());
}

async function json(key: string): Promise<Record<string, unknown>> {
  return JSON.parse((await bytes(key)).toString('utf8'));
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'aep-serve-'));
});

afterAll(async () => {
  await serving?.stop();
  s3?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('aep-audience serve, in process', () => {
  it('prints how to drop a file with the AWS CLI on its endpoint', async () => {
    const { url } = await serve();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const banner = lines.join('\n');
    expect(banner).toContain(
      `aws --endpoint-url ${url} s3 cp samples/customers.csv s3://${BUCKET}/incoming/customers.csv`,
    );
    expect(banner).toContain('AWS_ACCESS_KEY_ID=local');
  });

  it('runs a CSV put after its manifest, and serves the reports and the untouched original back', async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'incoming/teamA/customers.manifest.json',
        Body: readFileSync(SAMPLE_MANIFEST),
      }),
    );
    // A stream body: the SDK's default checksum settings send it aws-chunked with a trailing CRC.
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'incoming/teamA/customers.csv',
        Body: createReadStream(SAMPLE),
        ContentLength: statSync(SAMPLE).size,
      }),
    );
    const archived = await waitForKey('processed/teamA/', '/customers.csv');
    const execution = archived.split('/')[2]!;
    expect(execution).toMatch(/^teamA-customers-[0-9a-f]{8}$/);
    // result.json is the last thing an execution writes.
    await waitForKey(`reports/${execution}/`, '/result.json');
    expect((await bytes(archived)).equals(readFileSync(SAMPLE))).toBe(true);
    expect(await keys(`processed/teamA/${execution}/`)).toContain(
      `processed/teamA/${execution}/customers.manifest.json`,
    );
    const result = await json(`reports/${execution}/result.json`);
    expect(result).toMatchObject({ status: 'SUCCEEDED' });
    // The manifest named two destinations: it was read, so it was there before its CSV.
    expect((result.destinations as unknown[]).length).toBe(2);
    expect(await keys(`reports/${execution}/`)).toContain(`reports/${execution}/validation.json`);
    expect(await keys('incoming/teamA/')).toEqual([]);
    expect(lines.some((l) => l.startsWith(`[${execution} incoming/teamA/customers.csv] ValidateFile:`))).toBe(
      true,
    );
    await waitForLine('SUCCEEDED  incoming/teamA/customers.csv');
  });

  it('runs files dropped at once concurrently; a bad one fails with its reports, its original kept in failed/', async () => {
    const bad = 'email,crm_id\r\nnot-an-email,1\r\nstill@bad@,2\r\n';
    const good = readFileSync(SAMPLE, 'utf8').split('\n').slice(0, 200).join('\n');
    await Promise.all([
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'incoming/teamB/bad.csv', Body: bad })),
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'incoming/teamB/few.csv', Body: good })),
    ]);
    const failed = await waitForKey('failed/teamB/', '/bad.csv');
    const execution = failed.split('/')[2]!;
    expect((await bytes(failed)).toString('utf8')).toBe(bad);
    // HandleFailure writes error.json after it has kept the original.
    await waitForKey(`reports/${execution}/`, '/error.json');
    expect(await json(`reports/${execution}/error.json`)).toMatchObject({ code: 'VALIDATION_FAILED' });
    const rejects = (await bytes(`reports/${execution}/rejects.csv`)).toString('utf8');
    expect(rejects.split('\n')[0]).toBe('row,column,code,message');
    expect(rejects).not.toContain('not-an-email');
    const few = (await waitForKey('processed/teamB/', '/few.csv')).split('/')[2]!;
    await waitForLine(`FAILED  incoming/teamB/bad.csv  (execution ${execution})`);
    await waitForLine(`SUCCEEDED  incoming/teamB/few.csv  (execution ${few})`);
    // Both ran at once: each execution started before the other one ended.
    const [a, b] = [execution, few].map((name) => serving!.pipeline.sfn.get(name)!);
    expect(a!.startDate.getTime()).toBeLessThan(b!.stopDate!.getTime());
    expect(b!.startDate.getTime()).toBeLessThan(a!.stopDate!.getTime());
  });

  it('on stop, reports running executions as interrupted; on the next start lists what is left in incoming/', async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'incoming/teamC/cut.csv', Body: readFileSync(SAMPLE) }),
    );
    const { interrupted } = await serving!.stop();
    expect(interrupted).toHaveLength(1);
    const [name] = interrupted;
    expect(name).toMatch(/^teamC-cut-[0-9a-f]{8}$/);
    expect(lines.some((l) => l.startsWith(`[${name}] interrupted by the stop`))).toBe(true);

    const again = await serve();
    expect(again.leftovers).toEqual([
      expect.objectContaining({ key: 'incoming/teamC/cut.csv', execution: name, state: 'interrupted' }),
    ]);
    expect(lines.join('\n')).toContain(`incoming/teamC/cut.csv: execution ${name} was interrupted by a stop`);
    expect(await json(`reports/${name}/error.json`)).toMatchObject({ status: 'ABORTED' });
    // Listed, not run again: nothing of it reached processed/ or failed/.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await keys('processed/teamC/')).toEqual([]);
    expect(await keys('incoming/teamC/')).toEqual(['incoming/teamC/cut.csv']);
  });
});

describe('aep-audience serve, as a command', () => {
  it('stops cleanly on SIGINT: exit code 0, nothing left running', async () => {
    const local = mkdtempSync(path.join(dir, 'cli-'));
    writeFileSync(path.join(local, '.keep'), '');
    // serve takes every flag of its table (--log-level as run does).
    const flags = ['--port', '0', '--host', '127.0.0.1', '--time-scale', '2000', '--log-level', 'debug'];
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/aep-audience.js'), 'serve', ...flags], {
      cwd: ROOT,
      env: { ...process.env, AEP_AUDIENCE_LOCAL_DIR: local },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk) => {
      out += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    while (
      !/S3 at (http:\/\/127\.0\.0\.1:\d+)/.test(out) &&
      Date.now() < deadline &&
      child.exitCode === null
    ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const url = /S3 at (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    expect(url, out).toBeDefined();
    // One process at a time owns a state folder: a second serve (or run) on it is refused, with the reason.
    await expect(
      startServe({
        stateDir: path.join(local, 'simulator'),
        host: '127.0.0.1',
        port: 0,
        print: () => undefined,
      }),
    ).rejects.toThrow(`in use by process ${child.pid}`);
    const client = defaultClient(url!);
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'notes/readme.txt', Body: 'hello' }));
    client.destroy();

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(out).toContain('SIGINT: stopping');
    expect(out).toContain('stopped.');
    expect(() => process.kill(child.pid!, 0)).toThrow();
    // The lock is released: the state folder is free for the next run or serve.
    expect(() => statSync(path.join(local, 'simulator', 'lock'))).toThrow();
  }, 90_000);
});
