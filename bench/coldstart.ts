// `npm run bench -- coldstart`: each function bundle as `cdk synth` builds it, its size and how long a fresh
// Node process takes to import it (median of several runs) next to a bare `node -e 0` measured in the same
// run; then each function built with the AWS SDK left out, as it would be to use the Lambda runtime's.
// BENCH_RUNS sets the runs per figure (7 by default); BENCH_COMPARE_ASSEMBLY=<a cdk.out> adds that assembly's
// bundles (e.g. synthesized from an older commit) to the same rounds, so before and after meet the same load.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import {
  buildBundles,
  type CloudAssemblyBundles,
  type FunctionBundle,
  readBundles,
} from '../local/runner/bundles.ts';
import { PROJECT_ROOT } from '../local/runner/template.ts';

const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 7));
/** What NodejsFunction leaves out when it uses the runtime's SDK (with sdkV3ExcludeSmithyPackages, cdk.json). */
const RUNTIME_SDK_EXTERNALS = ['@aws-sdk/*', '@smithy/*'];

interface Timing {
  /** Spawn to exit of the whole process, milliseconds. */
  processMs: number;
  /** The `import()` alone, measured inside the process, milliseconds. */
  importMs: number;
  /**
   * CPU time (user + system) of the whole process, milliseconds: less moved than wall time when other work
   * shares the machine's cores.
   */
  cpuMs: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** A string for every template value that is not one (a Ref, a GetAtt): enough for the init to pass. */
function functionEnvironment(assembly: CloudAssemblyBundles, bundle: FunctionBundle): Record<string, string> {
  const resources = (
    assembly.template as { Resources: Record<string, { Properties?: Record<string, unknown> }> }
  ).Resources;
  const variables =
    (
      resources[bundle.logicalId]?.Properties?.Environment as
        | { Variables?: Record<string, unknown> }
        | undefined
    )?.Variables ?? {};
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(variables)) {
    env[name] =
      typeof value === 'string' ? value : `arn:aws:bench:us-east-1:000000000000:${name.toLowerCase()}`;
  }
  return env;
}

/** The environment of a fresh process: nothing of this one's Node options, Lambda's region and names. */
function processEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _ignored, ...rest } = process.env;
  return { ...rest, AWS_REGION: 'us-east-1', AWS_LAMBDA_FUNCTION_NAME: 'bench', ...extra };
}

function timeProcess(args: string[], env: NodeJS.ProcessEnv): Timing {
  const started = performance.now();
  const child = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
  const processMs = performance.now() - started;
  if (child.status !== 0) {
    throw new Error(
      `node ${args.join(' ').slice(0, 80)}… exited ${child.status}: ${child.stderr.slice(0, 500)}`,
    );
  }
  const [importMs = 0, cpuMs = 0] = child.stdout.trim().split(' ').map(Number);
  return { processMs, importMs, cpuMs };
}

const REPORT_CPU =
  "const c = process.cpuUsage(); process.stdout.write((performance.now() - t) + ' ' + (c.user + c.system) / 1000); process.exit(0);";

/** A fresh process importing `file`, or importing nothing (the CPU baseline). */
function importArgs(file: string | undefined): string[] {
  const load = file ? `await import(${JSON.stringify(pathToFileURL(file).href)});` : '';
  return ['--input-type=module', '-e', `const t = performance.now(); ${load} ${REPORT_CPU}`];
}

/** The function's entry built as task-function.ts has NodejsFunction build it, with `external` left out. */
async function buildVariant(bundle: FunctionBundle, outDir: string, external: string[]): Promise<string> {
  const outfile = path.join(outDir, bundle.name, 'index.mjs');
  await build({
    entryPoints: [path.join(PROJECT_ROOT, bundle.handlerFile)],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    minify: true,
    sourcemap: true,
    keepNames: true,
    mainFields: ['module', 'main'],
    banner: {
      js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
    },
    external,
    logLevel: 'warning',
  });
  return outfile;
}

const kb = (bytes: number) => (bytes / 1000).toFixed(0).padStart(5);
const ms = (value: number) => value.toFixed(1).padStart(7);

export async function run(): Promise<void> {
  const assembly = await buildBundles();
  const bundles = Object.values(assembly.functions).sort((a, b) => a.name.localeCompare(b.name));
  // Inside the project, so that a bundle without the SDK finds it in node_modules as it would in the runtime.
  const variantsDir = path.join(PROJECT_ROOT, '.local', '.cache', 'coldstart-variants');
  rmSync(variantsDir, { recursive: true, force: true });
  mkdirSync(variantsDir, { recursive: true });

  const compareDir = process.env.BENCH_COMPARE_ASSEMBLY;
  const compared = compareDir ? readBundles(path.resolve(compareDir)) : undefined;

  type Candidate = { bundle: FunctionBundle; file: string; env: NodeJS.ProcessEnv; variant: string };
  const candidates: Candidate[] = [];
  for (const bundle of bundles) {
    const env = processEnvironment(functionEnvironment(assembly, bundle));
    candidates.push({ bundle, file: path.join(bundle.bundleDir, 'index.mjs'), env, variant: 'deployed' });
    const other = compared?.functions[bundle.name];
    if (compared && other) {
      candidates.push({
        bundle,
        file: path.join(other.bundleDir, 'index.mjs'),
        env: processEnvironment(functionEnvironment(compared, other)),
        variant: 'compared',
      });
    }
    const sdkExternal = await buildVariant(
      bundle,
      path.join(variantsDir, 'sdk-external'),
      RUNTIME_SDK_EXTERNALS,
    );
    candidates.push({ bundle, file: sdkExternal, env, variant: 'sdk-external' });
    const noMaps = { ...env, NODE_OPTIONS: '' };
    candidates.push({
      bundle,
      file: path.join(bundle.bundleDir, 'index.mjs'),
      env: noMaps,
      variant: 'no-source-maps',
    });
  }

  // Interleaved, baselines first in every round: drift of the machine hits all figures alike.
  const bareRuns: Timing[] = [];
  const emptyRuns: Timing[] = [];
  const timings = new Map<Candidate, Timing[]>(candidates.map((c) => [c, []]));
  for (let round = 0; round < RUNS; round += 1) {
    bareRuns.push(timeProcess(['-e', '0'], processEnvironment()));
    emptyRuns.push(timeProcess(importArgs(undefined), processEnvironment()));
    for (const candidate of candidates) {
      timings.get(candidate)!.push(timeProcess(importArgs(candidate.file), candidate.env));
    }
  }
  const bare = median(bareRuns.map((r) => r.processMs));
  const emptyCpu = median(emptyRuns.map((r) => r.cpuMs));
  const figures = (candidate: Candidate) => {
    const runs = timings.get(candidate)!;
    return {
      bytes: statSync(candidate.file).size,
      importMs: median(runs.map((r) => r.importMs)),
      cpuMs: median(runs.map((r) => r.cpuMs)),
      processMs: median(runs.map((r) => r.processMs)),
    };
  };
  const of = (bundle: FunctionBundle, variant: string) =>
    candidates.find((c) => c.bundle === bundle && c.variant === variant);
  const table = (variant: string, extra?: { title: string; variant: string }) => {
    console.log(
      `function                    size KB  import ms  CPU ms  process ms  ×node -e 0  ×CPU${extra ? `  ${extra.title}` : ''}`,
    );
    for (const bundle of bundles) {
      const candidate = of(bundle, variant);
      if (!candidate) continue;
      const f = figures(candidate);
      const more = extra
        ? `  ${ms(figures(of(bundle, extra.variant)!).importMs).padStart(extra.title.length)}`
        : '';
      console.log(
        `${bundle.name.padEnd(26)}  ${kb(f.bytes)}    ${ms(f.importMs)}  ${ms(f.cpuMs)}     ${ms(f.processMs)}  ${(f.processMs / bare).toFixed(2).padStart(10)}  ${(f.cpuMs / emptyCpu).toFixed(2).padStart(4)}${more}`,
      );
    }
  };

  console.log(`node ${process.version}, ${RUNS} runs each, medians; KB = 1000 bytes.`);
  console.log(
    `Baselines: bare \`node -e 0\` ${bare.toFixed(1)} ms (×node -e 0 divides process ms by it); a process importing nothing ${emptyCpu.toFixed(1)} CPU ms (×CPU divides by it).`,
  );
  console.log('');
  console.log('As deployed (NODE_OPTIONS=--enable-source-maps, from the function environment):');
  table('deployed', { title: 'import ms w/o source maps', variant: 'no-source-maps' });
  console.log('');
  console.log(
    `With ${RUNTIME_SDK_EXTERNALS.join(' and ')} external (the runtime's SDK). Its import here loads the SDK from the`,
  );
  console.log(
    "project's node_modules, standing in for the runtime's: other versions, other files, so a hint, not a measure.",
  );
  table('sdk-external');
  if (compared) {
    console.log('');
    console.log(`The bundles of ${compareDir}, in the same rounds, as deployed:`);
    table('compared');
  }
  rmSync(variantsDir, { recursive: true, force: true });
}
