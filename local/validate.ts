// `aep-audience validate`: the same engine as ValidateFile, on a local file, writing nothing (a dry run).
// It reads the stack's own configuration (cdk.json context `pipeline`, through lib/config.ts, with the same
// defaults) so that it predicts what the deployed pipeline would do: the same identity headers, size limit and
// requireManifest.
import { createReadStream, readdirSync, readFileSync, statSync } from 'node:fs';
import { selectParts } from '../functions/shared/parts.ts';
import type { ValidationIssue } from '../functions/validate-file/engine/columns.ts';
import { type CsvSource, validateSources } from '../functions/validate-file/engine/engine.ts';
import { identityTable } from '../functions/validate-file/engine/identities.ts';
import type { PartSummary } from '../functions/validate-file/engine/merge.ts';
import { defaultWorkers } from '../functions/validate-file/engine/thread-pool.ts';
import { type Manifest, ManifestError, parseManifest } from '../functions/validate-file/manifest.ts';
import { loadPipelineConfig, type PipelineConfig } from '../lib/config.ts';
import { PROJECT_ROOT } from './runner/template.ts';

export interface LocalValidation {
  valid: boolean;
  rows: number;
  invalidRows: number;
  fields: { name: string; type: string; identityNs?: string }[];
  errors: ValidationIssue[];
  /** Per part, for a folder. */
  parts?: PartSummary[];
}

export interface LocalEngineOptions {
  /** Threads that parse (default: the machine's cores). */
  workers?: number | undefined;
  splitBytes?: number | undefined;
}

/** A file, or a folder's data files in name order (the parts of a folder drop), as the engine reads them. */
function localSources(file: string): { sources: CsvSource[]; folder: boolean } {
  const source = (path: string, size: number): CsvSource => ({
    name: path,
    gzip: /\.gz$/i.test(path),
    size,
    open: () => createReadStream(path, { highWaterMark: 1024 * 1024 }),
  });
  if (!statSync(file).isDirectory()) return { sources: [source(file, statSync(file).size)], folder: false };
  const dir = `${file.replace(/\/+$/, '')}/`;
  const listed = readdirSync(dir)
    .filter((name) => statSync(`${dir}${name}`).isFile())
    .map((name) => ({ key: `${dir}${name}`, size: statSync(`${dir}${name}`).size }));
  return { sources: selectParts(listed, dir).parts.map((p) => source(p.key, p.size)), folder: true };
}

export type ValidationSettings = Pick<
  PipelineConfig,
  'identityNamespaces' | 'maxFileSizeBytes' | 'requireManifest'
>;

/** The settings ValidateFile gets when the stack is synthesized from this clone's cdk.json. */
export function stackValidationSettings(): ValidationSettings {
  const config = loadPipelineConfig(
    JSON.parse(readFileSync(`${PROJECT_ROOT}/cdk.json`, 'utf8')).context?.pipeline,
  );
  return {
    identityNamespaces: config.identityNamespaces,
    maxFileSizeBytes: config.maxFileSizeBytes,
    requireManifest: config.requireManifest,
  };
}

function refused(code: 'MANIFEST_INVALID' | 'MANIFEST_MISSING', message: string): LocalValidation {
  return {
    valid: false,
    rows: 0,
    invalidRows: 0,
    fields: [],
    errors: [{ row: null, column: null, code, message }],
  };
}

export async function validateLocalFile(
  file: string,
  manifestPath?: string,
  settings: ValidationSettings = stackValidationSettings(),
  engine: LocalEngineOptions = {},
): Promise<LocalValidation> {
  let manifest: Manifest | undefined;
  if (manifestPath) {
    try {
      manifest = parseManifest(readFileSync(manifestPath, 'utf8'));
    } catch (error) {
      if (!(error instanceof ManifestError)) throw error;
      return refused('MANIFEST_INVALID', error.message);
    }
  } else if (settings.requireManifest) {
    return refused(
      'MANIFEST_MISSING',
      `this pipeline requires a manifest (cdk.json pipeline.requireManifest): put ${file.replace(/\.csv(\.gz)?$/i, '').replace(/\.parts\/?$/i, '')}.manifest.json beside the CSV, or pass --manifest`,
    );
  }
  const { sources, folder } = localSources(file);
  const result = await validateSources(sources, {
    manifest,
    identityHeaders: identityTable(settings.identityNamespaces),
    maxFileSizeBytes: settings.maxFileSizeBytes,
    folder,
    workers: engine.workers ?? defaultWorkers(),
    splitBytes: engine.splitBytes,
  });
  return {
    valid: result.valid,
    rows: result.rows,
    invalidRows: result.invalidRows,
    fields: result.fields,
    errors: result.errors,
    ...(result.parts ? { parts: result.parts } : {}),
  };
}
