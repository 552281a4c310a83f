// The concurrency benchmark: what one file costs, alone and among twenty dropped at once, in AEP calls, Step
// Functions state transitions and Lambda invocations (what AWS bills), and in wall time here.
//
// Each scenario runs in its own child process (this file with `--scenario <name>`): the handlers build their
// clients once per process, as a Lambda container does, so one local pipeline per process.
//   alone:     1 file, no faults.
//   twenty:    20 files at once (14 audiences of their own, two groups of 3 refreshing a shared audience),
//              no faults. Wait states and the simulator's clock run at the same scale, so the number of polls,
//              hence of transitions and invocations, is the one AWS would see.
//   throttled: the same 20 files against a simulator answering 429 (Retry-After 1 s) to a third of the calls
//              and adding 2–5 s to a fifth, at 100× so those real seconds keep their proportion to 15 s polls.
// Ratios are per file against `alone`, measured in the same run.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = path.resolve(import.meta.dirname, '..');
const SMALL_CSV = path.join(ROOT, 'test/fixtures/workflow/customers-small.csv');

interface ScenarioResult {
  name: string;
  files: number;
  succeeded: number;
  wallMs: number;
  aepCalls: number;
  throttled: number;
  transitions: number;
  lambdaInvocations: number;
  callsByRoute: Record<string, number>;
}

const SCENARIOS = {
  alone: { files: 1, faults: false, timeScale: 1000 },
  twenty: { files: 20, faults: false, timeScale: 1000 },
  throttled: { files: 20, faults: true, timeScale: 100 },
} as const;
type ScenarioName = keyof typeof SCENARIOS;

/** In the child: one scenario, printed as one JSON line. */
async function scenario(name: ScenarioName): Promise<void> {
  const { files, faults, timeScale } = SCENARIOS[name];
  const { LocalPipeline } = await import('../local/runner/pipeline.ts');
  const { SIMULATOR_DEFAULT_FLOWS } = await import('../local/aep-simulator/index.ts');
  const work = mkdtempSync(path.join(tmpdir(), 'aep-bench-'));
  const pipeline = await LocalPipeline.start({
    stateDir: path.join(work, 'state'),
    ephemeral: true,
    timeScale,
  });
  let lambdaInvocations = 0;
  const invoke = pipeline.invoke.bind(pipeline);
  pipeline.invoke = (fn, payload) => {
    lambdaInvocations += 1;
    return invoke(fn, payload);
  };
  try {
    const sim = pipeline.simulator!;
    if (faults) {
      sim.faults.add({ probability: 1 / 3, status: 429, retryAfterSeconds: 1 });
      sim.faults.slow({ probability: 1 / 5, minMs: 2000, maxMs: 5000 });
    }
    const [streaming, batch] = SIMULATOR_DEFAULT_FLOWS.map((f) => f.id);
    const manifest = (file: string, audienceName?: string) => {
      writeFileSync(
        file,
        JSON.stringify({
          ...(audienceName ? { name: audienceName } : {}),
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
      return file;
    };
    const own = manifest(path.join(work, 'own.json'));
    const weekly = manifest(path.join(work, 'weekly.json'), 'Weekly shared list');
    const churn = manifest(path.join(work, 'churn.json'), 'Churn shared list');
    const drops = Array.from({ length: files }, (_, i) => ({
      key: `incoming/team${i % 4}/file-${i}.csv`,
      manifest: files === 1 ? own : i < 3 ? weekly : i < 6 ? churn : own,
    }));
    const started = performance.now();
    const names = await Promise.all(drops.map((drop) => pipeline.dropFile(SMALL_CSV, drop)));
    const summaries = await Promise.all(names.map((n) => pipeline.waitFor(n)));
    const wallMs = performance.now() - started;
    const transitions = names
      .map((n) => pipeline.sfn.get(n)!.history.filter((e) => e.type === 'StateEntered').length)
      .reduce((a, b) => a + b, 0);
    const callsByRoute: Record<string, number> = {};
    for (const call of sim.calls) callsByRoute[call.route] = (callsByRoute[call.route] ?? 0) + 1;
    const result: ScenarioResult = {
      name,
      files,
      succeeded: summaries.filter((s) => s.status === 'SUCCEEDED').length,
      wallMs,
      aepCalls: sim.calls.length,
      throttled: sim.calls.filter((c) => c.status === 429).length,
      transitions,
      lambdaInvocations,
      callsByRoute,
    };
    if (result.succeeded < files) {
      const failed = summaries.find((s) => s.status !== 'SUCCEEDED');
      process.stderr.write(
        `${files - result.succeeded} of ${files} failed; first: ${failed?.error?.code}: ${failed?.error?.message}\n`,
      );
    }
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await pipeline.close();
    rmSync(work, { recursive: true, force: true });
  }
}

async function inChild(name: ScenarioName): Promise<ScenarioResult> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), '--scenario', name],
    { cwd: ROOT, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, LOG_LEVEL: 'WARN' } },
  );
  const line = stdout.trim().split('\n').at(-1)!;
  return JSON.parse(line) as ScenarioResult;
}

const fixed = (n: number, digits = 1) => n.toFixed(digits);

export async function run(): Promise<void> {
  const results: ScenarioResult[] = [];
  for (const name of Object.keys(SCENARIOS) as ScenarioName[]) results.push(await inChild(name));
  const alone = results[0]!;
  const perFile = (r: ScenarioResult, value: number) => value / r.files;
  console.log(
    'scenario    files  ok  wall s  AEP calls/file  429s  transitions/file  Lambda invocations/file  (ratio to alone)',
  );
  for (const r of results) {
    const calls = perFile(r, r.aepCalls);
    const transitions = perFile(r, r.transitions);
    const invocations = perFile(r, r.lambdaInvocations);
    console.log(
      `${r.name.padEnd(10)} ${String(r.files).padStart(6)} ${String(r.succeeded).padStart(3)} ${fixed(r.wallMs / 1000).padStart(7)}` +
        `  ${fixed(calls).padStart(6)} (${fixed(calls / perFile(alone, alone.aepCalls), 2)}×)` +
        `  ${String(r.throttled).padStart(4)}` +
        `  ${fixed(transitions).padStart(8)} (${fixed(transitions / perFile(alone, alone.transitions), 2)}×)` +
        `  ${fixed(invocations).padStart(10)} (${fixed(invocations / perFile(alone, alone.lambdaInvocations), 2)}×)`,
    );
  }
  for (const r of results) {
    const routes = Object.entries(r.callsByRoute)
      .sort(([, a], [, b]) => b - a)
      .map(([route, n]) => `${route} ${fixed(n / r.files)}`)
      .join('; ');
    console.log(`${r.name}: AEP calls per file by route: ${routes}`);
  }
  console.log(
    'AWS cost per file ≈ transitions × the Standard workflow price per transition + invocations × (request + duration) of Lambda.',
  );
}

const [flag, name] = process.argv.slice(2);
if (flag === '--scenario' && name && name in SCENARIOS) await scenario(name as ScenarioName);
