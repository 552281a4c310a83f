// Synthesizes the CDK app in-process (bundling skipped: the local runner imports the handlers' sources) and
// caches the template under .local/, keyed by a hash of everything the template is built from.
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import type { Json } from './synthesized.ts';

export const PROJECT_ROOT = path.resolve(import.meta.dirname, '..', '..');

/** Files whose content decides the template: the infrastructure code, its configuration, shared contracts. */
function templateInputs(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const full = path.join(dir, entry);
      if (statSync(full).isDirectory()) walk(full);
      else if (entry.endsWith('.ts')) files.push(full);
    }
  };
  walk(path.join(PROJECT_ROOT, 'lib'));
  walk(path.join(PROJECT_ROOT, 'functions', 'shared'));
  files.push(path.join(PROJECT_ROOT, 'cdk.json'), path.join(PROJECT_ROOT, 'package-lock.json'));
  return files.filter((f) => existsSync(f)).sort();
}

function inputsHash(context: unknown): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(context ?? null));
  for (const file of templateInputs()) {
    hash.update(path.relative(PROJECT_ROOT, file));
    hash.update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 16);
}

export async function synthesizeTemplate(context?: Record<string, unknown>): Promise<Json> {
  const { buildApp } = await import('../../lib/app-factory.ts');
  const { app, stack } = buildApp({ context, skipBundling: true, nag: false });
  const assembly = app.synth();
  return assembly.getStackArtifact(stack.artifactId).template;
}

/** The template, from the cache when nothing it depends on changed. */
export async function loadTemplate(
  options: { cacheDir?: string; context?: Record<string, unknown> } = {},
): Promise<Json> {
  if (!options.cacheDir) return synthesizeTemplate(options.context);
  const file = path.join(options.cacheDir, `template-${inputsHash(options.context)}.json`);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
  const template = await synthesizeTemplate(options.context);
  mkdirSync(options.cacheDir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(template));
  renameSync(tmp, file);
  return template;
}
