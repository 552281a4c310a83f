// `aep-audience validate`: the same engine as ValidateFile, on a local file, writing nothing (a dry run).
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { identityTable } from '../functions/validate-file/engine/identities.ts';
import { type ValidationIssue, validateCsv } from '../functions/validate-file/engine/validate-csv.ts';
import { type Manifest, ManifestError, parseManifest } from '../functions/validate-file/manifest.ts';
import { PROJECT_ROOT } from './runner/template.ts';

export interface LocalValidation {
  valid: boolean;
  rows: number;
  invalidRows: number;
  fields: { name: string; type: string; identityNs?: string }[];
  errors: ValidationIssue[];
}

function pipelineDefaults(): { identityNamespaces: Record<string, string>; maxFileSizeBytes: number } {
  const context = JSON.parse(readFileSync(`${PROJECT_ROOT}/cdk.json`, 'utf8')).context?.pipeline ?? {};
  return {
    identityNamespaces: context.identityNamespaces ?? { crmid: 'CRMID' },
    maxFileSizeBytes: context.maxFileSizeBytes ?? 10 * 1024 ** 3,
  };
}

export async function validateLocalFile(file: string, manifestPath?: string): Promise<LocalValidation> {
  let manifest: Manifest | undefined;
  if (manifestPath) {
    try {
      manifest = parseManifest(readFileSync(manifestPath, 'utf8'));
    } catch (error) {
      if (!(error instanceof ManifestError)) throw error;
      return {
        valid: false,
        rows: 0,
        invalidRows: 0,
        fields: [],
        errors: [{ row: null, column: null, code: 'MANIFEST_INVALID', message: error.message }],
      };
    }
  }
  const defaults = pipelineDefaults();
  const result = await validateCsv(createReadStream(file), {
    manifest,
    identityHeaders: identityTable(defaults.identityNamespaces),
    maxFileSizeBytes: defaults.maxFileSizeBytes,
    sizeBytes: statSync(file).size,
  });
  return {
    valid: result.valid,
    rows: result.rows,
    invalidRows: result.invalidRows,
    fields: result.fields,
    errors: result.errors,
  };
}
