// No secret leaks: the whole local pipeline runs with marker values as the AEP client secret and as every access
// token IMS issues, on a success and on failure paths (a wrong file, a 4xx from AEP, a token revoked mid-run,
// refused credentials). Neither marker may appear in any log line, state payload, report, error message, file
// or CLI output; the emails and phones of the input files may appear in logs and reports only masked.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { GetExecutionHistoryCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type AepSimulator,
  SIMULATOR_DEFAULT_CREDENTIALS,
  SIMULATOR_DEFAULT_FLOWS,
  startAepSimulator,
} from '../../local/aep-simulator/index.ts';
import { executionStory, formatStory, storyJson } from '../../local/ops/show.ts';
import { LocalPipeline } from '../../local/runner/pipeline.ts';

const SECRET = 'zqSECRETmarker7Kx2vB9';
/** The credentials an operator got wrong: also a secret, also never to be seen. */
const WRONG_SECRET = 'zqWRONGSECRETmarker3Jd8';
const TOKEN_MARKER = 'zqTOKENmarker';
const tokenFor = (n: number) => `${TOKEN_MARKER}${n}.Pq7Wc2Lm9Ty4Rb6Nd1Vx`;
const MARKERS = [SECRET, WRONG_SECRET, TOKEN_MARKER, 'Pq7Wc2Lm9Ty4Rb6Nd1Vx'];

// Small files of our own, so every personal value is known: valid ones, and a file of malformed ones.
const GOOD_ROWS = [1, 2, 3, 4, 5].map((n) => ({
  email: `leaky.person${n}@privacy-check.example`,
  phone: `+33 6 12 34 56 ${70 + n}`,
}));
const BAD_ROWS = [
  { email: 'leaky.not-an-email.example', phone: '+33 6 98 76 54 32' },
  { email: 'leaky.second@privacy-check.example', phone: '06-LEAKY-99' },
];
const csv = (rows: { email: string; phone: string }[]) =>
  `email,phone,crm_id\n${rows.map((r, i) => `${r.email},${r.phone},CRM-${i + 1}`).join('\n')}\n`;
/** Each personal value as written, and a phone also as digits only (how the staged copy normalizes it). */
const PERSONAL_VALUES = [...GOOD_ROWS, ...BAD_ROWS].flatMap((r) => [
  r.email,
  r.phone,
  r.phone.replace(/[\s().-]/g, ''),
]);

let root: string;
let simulator: AepSimulator;
const saved = { ...process.env };

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    return statSync(full).isDirectory() ? files(full) : [full];
  });
}

/** Every place a marker shows up in `text`, named by `where`, for a failure message that says where to look. */
function leaks(where: string, text: string, needles: string[]): string[] {
  return needles.filter((needle) => text.includes(needle)).map((needle) => `${where}: contains "${needle}"`);
}

/** The input files, named `<prefix><kind>.csv` so that each test creates audiences of its own. */
function writeInputs(dir: string, prefix: string): Record<'good' | 'bad' | 'noflow' | 'late', string> {
  const [streaming, batch] = SIMULATOR_DEFAULT_FLOWS.map((f) => f.id);
  const inputs = {
    good: path.join(dir, `${prefix}good.csv`),
    bad: path.join(dir, `${prefix}bad.csv`),
    noflow: path.join(dir, `${prefix}noflow.csv`),
    late: path.join(dir, `${prefix}late.csv`),
  };
  for (const [name, file] of Object.entries(inputs))
    writeFileSync(file, csv(name === 'bad' ? BAD_ROWS : GOOD_ROWS));
  writeFileSync(
    inputs.good.replace('.csv', '.manifest.json'),
    JSON.stringify({
      identities: { email: 'Email', phone: 'Phone_E.164' },
      destinations: [
        { flowId: streaming, kind: 'streaming' },
        {
          flowId: batch,
          kind: 'batch',
          exportMode: 'DAILY_FULL_EXPORT',
          schedule: { frequency: 'DAILY', startDate: '2026-12-01', startTime: '20:00' },
          filenameTemplate: '%DESTINATION_NAME%_%SEGMENT_ID%_%DATETIME(YYYYMMdd_HHmmss)%',
        },
      ],
    }),
  );
  // A dataflow AEP does not have: Flow Service answers 404, and the request's details reach the error message.
  writeFileSync(
    inputs.noflow.replace('.csv', '.manifest.json'),
    JSON.stringify({ destinations: [{ flowId: '00000000-0000-4000-8000-00000000dead', kind: 'streaming' }] }),
  );
  return inputs;
}

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'aep-secrets-'));
  simulator = await startAepSimulator({
    timeScale: 2000,
    credentials: { ...SIMULATOR_DEFAULT_CREDENTIALS, clientSecret: SECRET },
    accessTokenFactory: tokenFor,
  });
  Object.assign(process.env, {
    AEP_CLIENT_ID: SIMULATOR_DEFAULT_CREDENTIALS.clientId,
    AEP_CLIENT_SECRET: SECRET,
    AEP_ORG_ID: SIMULATOR_DEFAULT_CREDENTIALS.orgId,
    AEP_SANDBOX_NAME: SIMULATOR_DEFAULT_CREDENTIALS.sandboxName,
    AEP_BASE_CONNECTION_ID: SIMULATOR_DEFAULT_CREDENTIALS.baseConnectionId,
    AEP_RETRY_BASE_MS: '1',
    AEP_RETRY_MAX_DELAY_MS: '20',
    // Every log line there is: a leak at DEBUG is a leak.
    LOG_LEVEL: 'DEBUG',
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
  });
});

afterAll(async () => {
  await simulator?.close();
  process.env = saved;
  rmSync(root, { recursive: true, force: true });
});

describe('marker secrets, in process: logs, state payloads, reports, files', () => {
  it('never shows the client secret or a token anywhere, and personal values only masked', async () => {
    const inputs = writeInputs(mkdtempSync(path.join(root, 'inputs-')), 'lib-');
    const stateDir = path.join(root, 'in-process');
    // The lowest level: every write to stdout/stderr and every console call, whatever logger writes them.
    const written: string[] = [];
    const record = (chunk: unknown) => {
      written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      return true;
    };
    const spies = [
      vi.spyOn(process.stdout, 'write').mockImplementation(record),
      vi.spyOn(process.stderr, 'write').mockImplementation(record),
      ...(['log', 'info', 'warn', 'error', 'debug', 'trace'] as const).map((method) =>
        vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
          written.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
        }),
      ),
    ];
    const progress: string[] = [];
    const payloads: Record<string, string> = {};
    let pipeline: LocalPipeline | undefined;
    try {
      pipeline = await LocalPipeline.start({
        stateDir,
        aepUrl: simulator.url,
        timeScale: 2000,
        progress: (line) => progress.push(line),
        // The template configures LOG_LEVEL INFO: every function logs everything instead.
        functionEnvironment: { LOG_LEVEL: 'DEBUG', POWERTOOLS_LOG_LEVEL: 'DEBUG' },
      });
      // A token lost mid-run (a 401 to a request that carried it) and a 503 the client retries.
      simulator.faults.revokeTokensOnCall('POST /data/core/ais/external-audience/{id}/runs');
      simulator.faults.add({
        route: 'GET /data/core/ais/external-audience/operations/{id}',
        nth: [1],
        status: 503,
      });
      const ok = await pipeline.waitFor(
        await pipeline.dropFile(inputs.good, { manifest: inputs.good.replace('.csv', '.manifest.json') }),
      );
      const bad = await pipeline.waitFor(await pipeline.dropFile(inputs.bad));
      const noflow = await pipeline.waitFor(
        await pipeline.dropFile(inputs.noflow, { manifest: inputs.noflow.replace('.csv', '.manifest.json') }),
      );
      // Credentials rotated to a wrong secret: IMS refuses them.
      pipeline.rotateAepSecret({ clientSecret: WRONG_SECRET });
      const refused = await pipeline.waitFor(await pipeline.dropFile(inputs.late));
      pipeline.rotateAepSecret({ clientSecret: SECRET });

      // The paths this test means to cover did happen.
      expect([ok.status, bad.error?.code, noflow.error?.code, refused.error?.code]).toEqual([
        'SUCCEEDED',
        'VALIDATION_FAILED',
        'ACTIVATION_FAILED',
        'AEP_AUTH_FAILED',
      ]);
      // A revoked token on a /core/ais route: the external audiences API's 400 100911, renewed by the client.
      expect(simulator.calls.some((c) => c.status === 400 && c.route.endsWith('/runs'))).toBe(true);
      expect(
        simulator.calls.filter((c) => c.route === 'POST /ims/token/v3' && c.status === 200).length,
      ).toBeGreaterThan(1);
      expect(simulator.calls.some((c) => c.route === 'POST /ims/token/v3' && c.status === 401)).toBe(true);

      // Every state payload: the local record and Step Functions' own API, and what `show` makes of it.
      const sfn = new SFNClient({ endpoint: pipeline.sfnUrl, region: 'us-east-1' });
      const stack = {
        stackName: 'local',
        bucketName: pipeline.bucket,
        stateMachineArn: pipeline.sfn.stateMachineArn,
      };
      for (const execution of pipeline.sfn.list()) {
        const { name, input, output, error, cause, history } = execution;
        payloads[`execution ${name} (local record)`] = JSON.stringify({
          input,
          output,
          error,
          cause,
          history,
        });
        const api = await sfn.send(new GetExecutionHistoryCommand({ executionArn: execution.arn }));
        payloads[`execution ${name} (GetExecutionHistory)`] = JSON.stringify(api.events);
        const story = await executionStory({ sfn, s3: pipeline.s3 }, stack, name);
        payloads[`aep-audience show ${name}`] = `${formatStory(story)}\n${JSON.stringify(storyJson(story))}`;
        payloads[`summary ${name}`] = JSON.stringify(await pipeline.summarize(execution));
      }
      sfn.destroy();
    } finally {
      await pipeline?.close();
      for (const spy of spies) spy.mockRestore();
    }

    const found: string[] = [];
    const logText = [...written, ...progress].join('\n');
    found.push(...leaks('stdout/stderr/console/progress', logText, [...MARKERS, ...PERSONAL_VALUES]));
    for (const [where, text] of Object.entries(payloads)) found.push(...leaks(where, text, MARKERS));
    for (const file of files(stateDir)) {
      const relative = path.relative(stateDir, file);
      const text = readFileSync(file).toString('latin1');
      // Logs and reports hold personal values only masked; the original, staged and archived copies hold them as data.
      const masked = relative.startsWith('logs') || relative.includes(`${path.sep}reports${path.sep}`);
      found.push(...leaks(relative, text, masked ? [...MARKERS, ...PERSONAL_VALUES] : MARKERS));
    }
    expect(found).toEqual([]);
    // The check can see what it looks for: the logs were written, masked values are in them, the data holds the raw ones.
    const logFiles = files(path.join(stateDir, 'logs')).map((f) => readFileSync(f, 'utf8'));
    expect(`${logText}\n${logFiles.join('\n')}`).toMatch(/"level":"DEBUG".*AEP call/);
    const staged = files(stateDir).filter((f) => f.includes(`${path.sep}staging${path.sep}`));
    expect(staged.some((f) => readFileSync(f, 'utf8').includes(GOOD_ROWS[0]!.email))).toBe(true);
    const reports = files(stateDir).filter((f) => f.includes(`${path.sep}reports${path.sep}`));
    expect(reports.some((f) => readFileSync(f, 'utf8').includes('"l***"'))).toBe(true);
  });
});

describe('marker secrets, through the command line', () => {
  const run = promisify(execFile);
  const cli = path.resolve(import.meta.dirname, '../../bin/aep-audience.js');

  async function aepAudience(args: string[], env: Record<string, string>) {
    try {
      const { stdout, stderr } = await run(process.execPath, [cli, ...args], {
        env: { ...process.env, AEP_AUDIENCE_LOCAL_DIR: root, LOG_LEVEL: 'DEBUG', ...env },
        maxBuffer: 20 * 1024 * 1024,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  it('prints neither marker in text or --json output, on success, on a wrong file and on refused credentials', async () => {
    const inputs = writeInputs(mkdtempSync(path.join(root, 'cli-inputs-')), 'cli-');
    const url = ['--aep-url', simulator.url, '--time-scale', '2000'];
    simulator.faults.clear();
    const text = await aepAudience(['run', inputs.good, inputs.bad, ...url], { AEP_CLIENT_SECRET: SECRET });
    const json = await aepAudience(['run', inputs.noflow, ...url, '--json'], { AEP_CLIENT_SECRET: SECRET });
    const refused = await aepAudience(['run', inputs.late, ...url], { AEP_CLIENT_SECRET: WRONG_SECRET });

    expect(text.stdout).toMatch(/SUCCEEDED .*good\.csv/);
    expect(text.stdout).toMatch(/FAILED .*bad\.csv/);
    expect(JSON.parse(json.stdout)).toMatchObject({ status: 'FAILED', error: { code: 'ACTIVATION_FAILED' } });
    expect(refused.stdout).toContain('AEP_AUTH_FAILED');
    expect([text.code, json.code, refused.code]).toEqual([1, 1, 1]);
    const found = [text, json, refused].flatMap((r, i) => [
      ...leaks(`run ${i + 1} stdout`, r.stdout, [...MARKERS, ...PERSONAL_VALUES]),
      ...leaks(`run ${i + 1} stderr`, r.stderr, [...MARKERS, ...PERSONAL_VALUES]),
    ]);
    for (const file of files(root).filter((f) => !f.includes('inputs-'))) {
      found.push(...leaks(path.relative(root, file), readFileSync(file).toString('latin1'), MARKERS));
    }
    expect(found).toEqual([]);
  });
});
