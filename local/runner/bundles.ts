// The functions' deployment bundles as `cdk synth` writes them: the CDK app synthesized with bundling on (the
// local esbuild, no Docker) into a cloud assembly cached under .local/, keyed by a hash of its inputs; or an
// existing `cdk.out`. Each function is found by its `aep:handler` metadata, its code by `aws:asset:path`.
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import type { Json } from './synthesized.ts';
import { PROJECT_ROOT } from './template.ts';

/** One function's bundle in a cloud assembly. */
export interface FunctionBundle {
  /** The handler folder, e.g. `start-pipeline`. */
  name: string;
  logicalId: string;
  /** From `aep:handler`, e.g. `functions/start-pipeline/handler.ts`. */
  handlerFile: string;
  /** Absolute path of the asset folder holding `index.mjs`. */
  bundleDir: string;
  /** Size of `index.mjs` in bytes. */
  bytes: number;
  timeoutSeconds: number;
  memoryMb: number;
}

export interface CloudAssemblyBundles {
  /** The cloud assembly folder (a `cdk.out`). */
  assemblyDir: string;
  /** The pipeline stack's template, as written in the assembly. */
  template: Json;
  /** By handler folder name. */
  functions: Record<string, FunctionBundle>;
}

/** The CLI turns this on for `cdk synth`; without it the template carries no `aws:asset:path`. */
const ASSET_METADATA_KEY = 'aws:cdk:enable-asset-metadata';
/** Written last into a cached assembly: a folder without it is an interrupted build. */
const COMPLETE_MARKER = '.complete';
/** Assemblies of older sources (about 45 MB each) are removed once this old, unless they are the current one. */
const STALE_AFTER_MS = 60 * 60 * 1000;

function walk(dir: string, into: string[]): void {
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) walk(full, into);
    else if (entry.endsWith('.ts')) into.push(full);
  }
}

/** Everything the bundles and the template come from: infrastructure, every function, configuration, locks. */
function bundleInputs(): string[] {
  const files: string[] = [];
  walk(path.join(PROJECT_ROOT, 'lib'), files);
  walk(path.join(PROJECT_ROOT, 'functions'), files);
  for (const file of ['cdk.json', 'package.json', 'package-lock.json', 'tsconfig.json']) {
    files.push(path.join(PROJECT_ROOT, file));
  }
  return files.filter((f) => existsSync(f)).sort();
}

function inputsHash(context: unknown): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(context ?? null));
  for (const file of bundleInputs()) {
    hash.update(path.relative(PROJECT_ROOT, file));
    hash.update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 16);
}

/** Synthesizes the app with bundling on into `outdir`, as `cdk synth` does (without the cdk-nag checks). */
async function synthesizeAssembly(outdir: string, context?: Record<string, unknown>): Promise<void> {
  const [{ App }, { addPipelineStack, readCdkJsonContext }] = await Promise.all([
    import('aws-cdk-lib'),
    import('../../lib/app-factory.ts'),
  ]);
  const app = new App({
    outdir,
    context: { ...(context ?? readCdkJsonContext()), [ASSET_METADATA_KEY]: true },
  });
  addPipelineStack(app, { nag: false });
  app.synth();
}

/**
 * The bundles of the current sources: from the cache when nothing they are built from changed, else built
 * (about 10 s) into `<cacheDir>/bundles-<hash>/`.
 */
export async function buildBundles(
  options: { cacheDir?: string; context?: Record<string, unknown> } = {},
): Promise<CloudAssemblyBundles> {
  const cacheDir = options.cacheDir ?? path.join(PROJECT_ROOT, '.local', '.cache');
  const assemblyDir = path.join(cacheDir, `bundles-${inputsHash(options.context)}`);
  if (!existsSync(path.join(assemblyDir, COMPLETE_MARKER))) {
    const building = `${assemblyDir}.${process.pid}.tmp`;
    rmSync(building, { recursive: true, force: true });
    mkdirSync(building, { recursive: true });
    await synthesizeAssembly(building, options.context);
    writeFileSync(path.join(building, COMPLETE_MARKER), new Date().toISOString());
    try {
      renameSync(building, assemblyDir);
    } catch (error) {
      // Another process built the same inputs meanwhile: its assembly is as good as ours.
      rmSync(building, { recursive: true, force: true });
      if (!existsSync(path.join(assemblyDir, COMPLETE_MARKER))) throw error;
    }
    pruneStale(cacheDir, assemblyDir);
  }
  return readBundles(assemblyDir);
}

/** Removes other assemblies (and interrupted builds) not touched for an hour: another process may still use a recent one. */
function pruneStale(cacheDir: string, current: string): void {
  for (const entry of readdirSync(cacheDir)) {
    const dir = path.join(cacheDir, entry);
    if (!entry.startsWith('bundles-') || dir === current) continue;
    try {
      if (Date.now() - statSync(dir).mtimeMs > STALE_AFTER_MS) rmSync(dir, { recursive: true, force: true });
    } catch {
      // Removed by another process meanwhile.
    }
  }
}

/** Reads a cloud assembly (`npx cdk synth`'s `cdk.out`, or one built here) and finds each function's bundle. */
export function readBundles(assemblyDir: string): CloudAssemblyBundles {
  const manifest = JSON.parse(readFileSync(path.join(assemblyDir, 'manifest.json'), 'utf8')) as {
    artifacts?: Record<string, { type?: string; properties?: { templateFile?: string } }>;
  };
  const stacks = Object.values(manifest.artifacts ?? {}).filter(
    (a) => a.type === 'aws:cloudformation:stack' && a.properties?.templateFile,
  );
  for (const stack of stacks) {
    const template = JSON.parse(
      readFileSync(path.join(assemblyDir, stack.properties!.templateFile!), 'utf8'),
    );
    const functions = functionBundles(assemblyDir, template);
    if (Object.keys(functions).length > 0) return { assemblyDir, template, functions };
  }
  throw new Error(`${assemblyDir} holds no stack with the pipeline's functions (no aep:handler metadata)`);
}

function functionBundles(assemblyDir: string, template: Json): Record<string, FunctionBundle> {
  const functions: Record<string, FunctionBundle> = {};
  for (const [logicalId, resource] of Object.entries<Json>(template.Resources ?? {})) {
    const handlerFile = resource.Metadata?.['aep:handler'];
    if (resource.Type !== 'AWS::Lambda::Function' || typeof handlerFile !== 'string') continue;
    const assetPath = resource.Metadata?.['aws:asset:path'];
    if (typeof assetPath !== 'string') {
      throw new Error(
        `${logicalId} has no aws:asset:path metadata: synthesize with asset metadata on (cdk synth's default)`,
      );
    }
    const bundleDir = path.resolve(assemblyDir, assetPath);
    const entry = path.join(bundleDir, 'index.mjs');
    if (!existsSync(entry)) {
      throw new Error(
        `${logicalId}'s asset ${assetPath} has no index.mjs: was the app synthesized without bundling?`,
      );
    }
    const name = handlerFile.split('/').at(-2) ?? logicalId;
    functions[name] = {
      name,
      logicalId,
      handlerFile,
      bundleDir,
      bytes: statSync(entry).size,
      timeoutSeconds: Number(resource.Properties?.Timeout ?? 3),
      memoryMb: Number(resource.Properties?.MemorySize ?? 128),
    };
  }
  return functions;
}
