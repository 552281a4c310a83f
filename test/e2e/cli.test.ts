// End to end: the `aep-audience` command as a person runs it, in a child process, on the bundled sample.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AepSimulator,
  SIMULATOR_DEFAULT_CREDENTIALS,
  SIMULATOR_DEFAULT_FLOWS,
  startAepSimulator,
} from '../../local/aep-simulator/index.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const cli = path.join(root, 'bin/aep-audience.js');
const sample = path.join(root, 'samples/customers.csv');

let localDir: string;

async function aepAudience(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], {
      cwd: root,
      env: { ...process.env, AEP_AUDIENCE_LOCAL_DIR: localDir, ...env },
      maxBuffer: 20 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(() => {
  localDir = mkdtempSync(path.join(tmpdir(), 'aep-cli-'));
});
afterAll(() => rmSync(localDir, { recursive: true, force: true }));

describe('aep-audience run', () => {
  it('runs the sample to SUCCEEDED, and a second run refreshes the same audience', async () => {
    const first = await aepAudience(['run', sample, '--json']);
    expect(first.stderr).not.toMatch(/Error:/);
    expect(first.code).toBe(0);
    const a = JSON.parse(first.stdout);
    expect(a).toMatchObject({ status: 'SUCCEEDED', refreshed: false, file: 'incoming/customers.csv' });
    expect(a.validation).toMatchObject({ valid: true, rows: 3000, invalidRows: 0 });
    expect(a.destinations).toHaveLength(2);

    const second = await aepAudience(['run', sample, '--json']);
    expect(second.code).toBe(0);
    const b = JSON.parse(second.stdout);
    expect(b).toMatchObject({ status: 'SUCCEEDED', refreshed: true, audienceId: a.audienceId });
    expect(b.runId).not.toBe(a.runId);
    expect(b.destinations.map((d: { status: string }) => d.status)).toEqual([
      'ALREADY_PRESENT',
      'ALREADY_PRESENT',
    ]);
  });

  it('prints progress state by state and a summary without --json', async () => {
    const result = await aepAudience(['run', sample]);
    expect(result.code).toBe(0);
    for (const state of [
      'ValidateFile',
      'CreateAudience',
      'StartIngestion',
      'ActivateDestinations',
      'ArchiveFile',
    ]) {
      expect(result.stdout).toContain(state);
    }
    expect(result.stdout).toMatch(/SUCCEEDED {2}incoming\/customers\.csv/);
  });

  it('answers usage errors with exit code 2', async () => {
    expect((await aepAudience(['run'])).code).toBe(2);
    expect((await aepAudience(['run', 'no-such-file.csv'])).code).toBe(2);
    expect((await aepAudience(['frobnicate'])).code).toBe(2);
    const help = await aepAudience(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--aep-url');
  });

  describe('--aep-url against a separately running AEP-compatible server', () => {
    let server: AepSimulator;
    beforeAll(async () => {
      server = await startAepSimulator({ timeScale: 200 });
      // What an independent checker injects: a 429 with Retry-After on the first call of a route, a 503 on
      // a later GET, a token revoked mid-run, a dataflow edited between our GET and PATCH.
      server.faults.add({
        route: 'POST /data/core/ais/external-audience/',
        nth: [1],
        status: 429,
        retryAfterSeconds: 1,
      });
      // The first poll: how many polls the operation takes depends on how long the functions start.
      server.faults.add({
        route: 'GET /data/core/ais/external-audience/operations/{id}',
        nth: [1],
        status: 503,
      });
      server.faults.revokeTokensOnCall('POST /data/core/ais/external-audience/{id}/runs');
      server.faults.concurrentFlowEdit(SIMULATOR_DEFAULT_FLOWS[0]!.id);
    });
    afterAll(() => server.close());

    it('succeeds with one audience, each dataflow gaining it once, and no contract violation', async () => {
      const creds = SIMULATOR_DEFAULT_CREDENTIALS;
      const result = await aepAudience(
        ['run', sample, '--aep-url', server.url, '--json', '--time-scale', '200'],
        {
          AEP_CLIENT_ID: creds.clientId,
          AEP_CLIENT_SECRET: creds.clientSecret,
          AEP_ORG_ID: creds.orgId,
          AEP_SANDBOX_NAME: creds.sandboxName,
          AEP_BASE_CONNECTION_ID: creds.baseConnectionId,
        },
      );
      expect(result.code).toBe(0);
      const summary = JSON.parse(result.stdout);
      expect(summary.status).toBe('SUCCEEDED');
      expect(server.audiences()).toHaveLength(1);
      expect(server.violations).toEqual([]);
      expect(server.calls.some((c) => c.status === 429)).toBe(true);
      expect(server.calls.some((c) => c.status === 503)).toBe(true);
      // The token revoked mid-execution was renewed, and the dataflow edited between GET and PATCH was re-read.
      const tokens = server.calls.filter((c) => c.route === 'POST /ims/token/v3' && c.status === 200);
      expect(tokens.length).toBeGreaterThanOrEqual(2);
      // On the /core/ais route a revoked token is answered 400 100911 (the external audiences API's own code).
      expect(server.calls.some((c) => c.status === 400 && c.route.endsWith('/runs'))).toBe(true);
      const patches = server.calls.filter((c) => c.route === 'PATCH /data/foundation/flowservice/flows/{id}');
      expect(patches.some((c) => c.status === 412)).toBe(true);
      for (const flow of SIMULATOR_DEFAULT_FLOWS) {
        expect(server.flow(flow.id)!.selectors.filter((id) => id === summary.audienceId)).toHaveLength(1);
      }
    });
  });
});

describe('a closed stdout', () => {
  /** 20,000 invalid rows: `validate --json` writes ~170 KB, more than a pipe holds. */
  function invalidFile(): string {
    const file = path.join(localDir, 'not-emails.csv');
    const rows = ['email', ...Array.from({ length: 20_000 }, (_, i) => `not-an-email-${i}`)];
    writeFileSync(file, `${rows.join('\n')}\n`);
    return file;
  }

  it('ends the command quietly when the reader is gone before the first byte', async () => {
    for (const [file, expected] of [
      [sample, 0],
      [invalidFile(), 1],
    ] as const) {
      const child = spawn(process.execPath, [cli, 'validate', file, '--json'], {
        cwd: root,
        env: { ...process.env, AEP_AUDIENCE_LOCAL_DIR: localDir },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      // The read end closes at once: every write the command makes fails with EPIPE.
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(stderr).toBe('');
      expect(code, file).toBe(expected);
    }
  });

  it('ends it quietly under `| head -c 10`, with the exit code the command decided', async () => {
    const quoted = (value: string) => `'${value.replaceAll("'", "'\\''")}'`;
    const command = `${quoted(process.execPath)} ${quoted(cli)} validate ${quoted(invalidFile())} --json | head -c 10`;
    let result: { code: number; stdout: string; stderr: string };
    try {
      const { stdout, stderr } = await run('bash', ['-o', 'pipefail', '-c', command], {
        cwd: root,
        env: { ...process.env, AEP_AUDIENCE_LOCAL_DIR: localDir },
      });
      result = { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      result = { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
    expect(result.stdout).toBe('{\n  "valid');
    expect(result.stderr).not.toMatch(/EPIPE|Error/);
    // pipefail: the pipeline's status is validate's own, 1 for an invalid file.
    expect(result.code).toBe(1);
  });
});
