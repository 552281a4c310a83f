// End to end: audience upkeep as an operator runs it, in child processes against a separately running
// AEP-compatible server that records every call: a kept-alive audience run, listed by `audiences --json`,
// `keep-alive` run twice on a day inside its window (one extend-ttl), then `audiences delete`.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AepSimulator,
  SIMULATOR_DEFAULT_CREDENTIALS,
  startAepSimulator,
} from '../../local/aep-simulator/index.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const cli = path.join(root, 'bin/aep-audience.js');
const EXTEND = 'POST /data/core/ais/external-audience/extend-ttl/{id}';
const DAY = 86_400_000;

let localDir: string;
let server: AepSimulator;
let csv: string;

async function aepAudience(args: string[]) {
  const creds = SIMULATOR_DEFAULT_CREDENTIALS;
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args, '--aep-url', server.url], {
      cwd: root,
      env: {
        ...process.env,
        AEP_AUDIENCE_LOCAL_DIR: localDir,
        AEP_CLIENT_ID: creds.clientId,
        AEP_CLIENT_SECRET: creds.clientSecret,
        AEP_ORG_ID: creds.orgId,
        AEP_SANDBOX_NAME: creds.sandboxName,
        AEP_BASE_CONNECTION_ID: creds.baseConnectionId,
      },
      maxBuffer: 20 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  localDir = mkdtempSync(path.join(tmpdir(), 'aep-upkeep-'));
  server = await startAepSimulator({ timeScale: 200 });
  csv = path.join(localDir, 'kept-customers.csv');
  copyFileSync(path.join(root, 'samples/customers.csv'), csv);
  const manifest = JSON.parse(readFileSync(path.join(root, 'samples/customers.manifest.json'), 'utf8'));
  writeFileSync(
    path.join(localDir, 'kept-customers.manifest.json'),
    JSON.stringify({ ...manifest, name: 'Kept customers', keepAlive: true }),
  );
});

afterAll(async () => {
  await server?.close();
  rmSync(localDir, { recursive: true, force: true });
});

describe('audience upkeep from the command line', () => {
  it('lists the audience after a run, extends it once however often keep-alive runs, and deletes it', async () => {
    const started = Date.now();
    const ran = await aepAudience(['run', csv, '--json', '--time-scale', '200']);
    expect(ran.code, ran.stderr).toBe(0);
    const summary = JSON.parse(ran.stdout);
    expect(summary.status).toBe('SUCCEEDED');

    const listed = await aepAudience(['audiences', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    const [audience, ...others] = JSON.parse(listed.stdout);
    expect(others).toEqual([]);
    expect(audience).toMatchObject({
      name: 'Kept customers',
      audienceId: summary.audienceId,
      team: null,
      sandbox: null,
      generation: 1,
      runsUsed: 1,
      keepAlive: true,
      destinations: [
        { flowId: '7b1c2d3e-0000-4000-8000-5a7e57ea0001', kind: 'streaming' },
        { flowId: '7b1c2d3e-0000-4000-8000-ba7c4e5f0002', kind: 'batch' },
      ],
    });
    const expires = Date.parse(audience.expiresAt);
    expect(expires).toBeGreaterThanOrEqual(started + 30 * DAY);
    expect(Date.parse(audience.lastRunAt)).toBeGreaterThanOrEqual(started);

    // Three days before its expiry, twice: AEP is asked once.
    const asOf = new Date(expires - 3 * DAY).toISOString().slice(0, 10);
    const first = await aepAudience(['keep-alive', '--as-of', asOf, '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ extended: 1, failed: 0 });
    const second = await aepAudience(['keep-alive', '--as-of', asOf, '--json']);
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ extended: 0, failed: 0 });
    const extendCalls = server.calls.filter((c) => c.route === EXTEND);
    expect(extendCalls.map((c) => c.status)).toEqual([200]);
    expect(extendCalls[0]?.path).toContain(summary.audienceId);

    const after = JSON.parse((await aepAudience(['audiences', '--json'])).stdout);
    expect(after[0].expiresAt).toBe(new Date(Date.parse(`${asOf}T00:00:00Z`) + 30 * DAY).toISOString());

    const dryRun = await aepAudience(['audiences', 'delete', 'Kept customers']);
    expect(dryRun.code, dryRun.stderr).toBe(0);
    expect(dryRun.stdout).toContain('Would delete');
    expect(server.audiences()).toHaveLength(1);

    const deleted = await aepAudience(['audiences', 'delete', 'Kept customers', '--yes', '--json']);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(JSON.parse(deleted.stdout)).toMatchObject({
      status: 'DELETED',
      aep: 'DELETED',
      flows: [
        { flowId: '7b1c2d3e-0000-4000-8000-5a7e57ea0001', status: 'REMOVED' },
        { flowId: '7b1c2d3e-0000-4000-8000-ba7c4e5f0002', status: 'REMOVED' },
      ],
    });
    const deletes = server.calls.filter((c) => c.method === 'DELETE');
    expect(deletes.map((c) => c.status)).toEqual([204]);
    expect(server.flow('7b1c2d3e-0000-4000-8000-5a7e57ea0001')?.selectors).not.toContain(summary.audienceId);
    expect(JSON.parse((await aepAudience(['audiences', '--json'])).stdout)).toEqual([]);
    expect(server.violations).toEqual([]);
  });
});
