// Two teams in two sandboxes, one stack: the local pipeline, synthesized with pipeline.teams, against an
// AEP-compatible server (the simulator behind a proxy that records the headers it gets, as --aep-url does).
// Each team's files reach AEP with its own sandbox in x-sandbox-name and its own base connection, its settings
// over the stack's, its outcome on its own topic; a file outside every team is refused (unknownTeams "reject")
// with TEAM_UNKNOWN in error.json and the notification, and nothing sent to AEP.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AepSimulator,
  SIMULATOR_DEFAULT_CREDENTIALS,
  startAepSimulator,
} from '../../local/aep-simulator/index.ts';
import { LocalPipeline } from '../../local/runner/pipeline.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const smallCsv = path.join(ROOT, 'test/fixtures/workflow/customers-small.csv');
const cdkContext = JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context;
const TEAM_TOPIC = 'arn:aws:sns:us-east-1:000000000000:brand-b-outcomes';

interface Recorded {
  method: string;
  path: string;
  sandbox: string | undefined;
  body: string;
}

let workDir: string;
let simulator: AepSimulator;
let proxy: http.Server;
let proxyUrl: string;
const recorded: Recorded[] = [];
let pipeline: LocalPipeline;
const saved = { ...process.env };

/** Forwards every request to the simulator as it came, and records its method, path, sandbox and body. */
async function startRecordingProxy(target: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const sandbox = req.headers['x-sandbox-name'];
      recorded.push({
        method: req.method ?? '',
        path: req.url ?? '',
        sandbox: Array.isArray(sandbox) ? sandbox[0] : sandbox,
        body: body.toString('utf8'),
      });
      const upstream = http.request(
        `${target}${req.url ?? ''}`,
        { method: req.method, headers: { ...req.headers, host: new URL(target).host } },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'aep-teams-'));
  simulator = await startAepSimulator({
    timeScale: 2000,
    extraSandboxNames: ['brand-a', 'brand-b'],
    baseConnectionIds: ['conn-brand-a', 'conn-brand-b'],
  });
  proxy = await startRecordingProxy(simulator.url);
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  // --aep-url's credentials; no AEP_SANDBOX_NAME nor AEP_BASE_CONNECTION_ID: every file here is a team's.
  Object.assign(process.env, {
    AEP_CLIENT_ID: SIMULATOR_DEFAULT_CREDENTIALS.clientId,
    AEP_CLIENT_SECRET: SIMULATOR_DEFAULT_CREDENTIALS.clientSecret,
    AEP_ORG_ID: SIMULATOR_DEFAULT_CREDENTIALS.orgId,
  });
  delete process.env.AEP_SANDBOX_NAME;
  delete process.env.AEP_BASE_CONNECTION_ID;
  pipeline = await LocalPipeline.start({
    stateDir: path.join(workDir, 'state'),
    ephemeral: true,
    aepUrl: proxyUrl,
    timeScale: 2000,
    functionEnvironment: { AEP_RETRY_BASE_MS: '1', AEP_RETRY_MAX_DELAY_MS: '20' },
    context: {
      ...cdkContext,
      pipeline: {
        ...cdkContext.pipeline,
        unknownTeams: 'reject',
        teams: {
          brandA: {
            sandboxName: 'brand-a',
            baseConnectionId: 'conn-brand-a',
            defaultTtlInDays: 9,
            // Its own secret (another organization in AWS): the runner puts the same local credentials there.
            secretArn: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:brand-a-AbCdEf',
          },
          brandB: {
            sandboxName: 'brand-b',
            baseConnectionId: 'conn-brand-b',
            notifications: { topicArn: TEAM_TOPIC },
          },
        },
      },
    },
  });
});

afterAll(async () => {
  await pipeline?.close();
  await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
  await simulator?.close();
  process.env = saved;
  rmSync(workDir, { recursive: true, force: true });
});

/** The audience creations the server got: the sandbox each named, and its body. */
const creates = () =>
  recorded
    .filter((r) => r.method === 'POST' && /^\/data\/core\/ais\/external-audience\/?$/.test(r.path))
    .map((r) => ({ sandbox: r.sandbox, body: JSON.parse(r.body) }));

describe('two teams in two sandboxes', () => {
  it("sends each team's files to its sandbox, with its base connection and its settings", async () => {
    const [a, b] = await Promise.all([
      pipeline.waitFor(await pipeline.dropFile(smallCsv, { key: 'incoming/brandA/spring.csv' })),
      pipeline.waitFor(await pipeline.dropFile(smallCsv, { key: 'incoming/brandB/spring.csv' })),
    ]);
    expect([a.status, b.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);

    const created = creates();
    expect(created.map((c) => [c.body.name, c.sandbox]).sort()).toEqual([
      ['brandA/spring', 'brand-a'],
      ['brandB/spring', 'brand-b'],
    ]);
    const byName = Object.fromEntries(created.map((c) => [c.body.name, c.body]));
    expect(byName['brandA/spring'].sourceSpec.params.baseConnectionId).toBe('conn-brand-a');
    expect(byName['brandB/spring'].sourceSpec.params.baseConnectionId).toBe('conn-brand-b');
    // brandA's defaultTtlInDays over the stack's 30.
    expect(byName['brandA/spring'].ttlInDays).toBe(9);
    expect(byName['brandB/spring'].ttlInDays).toBe(30);
    // Every Platform call names a team's sandbox: never none, never another.
    const platform = recorded.filter((r) => r.path.startsWith('/data/'));
    expect(platform.length).toBeGreaterThan(4);
    expect(new Set(platform.map((r) => r.sandbox))).toEqual(new Set(['brand-a', 'brand-b']));

    // brandB hears on its own topic, brandA on the stack's.
    const [noteA] = pipeline.notifications(a.execution) as { topicArn?: string }[];
    const [noteB] = pipeline.notifications(b.execution) as { topicArn?: string }[];
    expect(noteB?.topicArn).toBe(TEAM_TOPIC);
    expect(noteA?.topicArn).not.toBe(TEAM_TOPIC);
    expect(noteA?.topicArn).toMatch(/^arn:aws:sns:/);
    // No call was refused by the local IAM checks: the grants cover every team's secret and topic (brandA's
    // credentials came from its own secret, brandB's outcome went to its existing topic).
    expect(pipeline.denials).toEqual([]);
  });

  it('refuses a file outside every team with TEAM_UNKNOWN, in error.json and the notification, sending nothing to AEP', async () => {
    const before = recorded.length;
    const summary = await pipeline.waitFor(
      await pipeline.dropFile(smallCsv, { key: 'incoming/brandC/spring.csv' }),
    );
    expect(summary).toMatchObject({ status: 'FAILED', error: { code: 'TEAM_UNKNOWN' } });
    const report = await pipeline.readJson(`reports/${summary.execution}/error.json`);
    expect(report).toMatchObject({ code: 'TEAM_UNKNOWN' });
    expect(String(report.message)).toContain('incoming/brandC/');
    const [note] = pipeline.notifications(summary.execution);
    expect(note?.document).toMatchObject({ outcome: 'FAILED', code: 'TEAM_UNKNOWN' });
    expect(recorded.length).toBe(before);
  });
});
