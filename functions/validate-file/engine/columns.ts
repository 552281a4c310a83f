// The header of a file: its problems (docs/contracts.md#validation-rules-and-codes) and the columns rows are
// checked against. Pure, so that every worker builds the same columns from the same header.
import type { AepFieldType } from '../../shared/aep/types.ts';
import type { Manifest } from '../manifest.ts';
import { hashedNamespaceOf, normalizeHeader } from './identities.ts';
import { TypeObserver } from './inference.ts';

export const MAX_COLUMNS = 41;

export interface ValidationIssue {
  row: number | null;
  column: string | null;
  code: string;
  message: string;
  /** The part of a folder drop the issue is in (absent for a single file). */
  part?: string;
}

export interface Column {
  name: string;
  identityNs?: string;
  /** The raw namespace whose values are hashed into `identityNs` (`hashIdentities`). */
  hashedFrom?: string;
  declared?: AepFieldType;
  observer: TypeObserver;
}

export interface HeaderSettings {
  manifest?: Manifest | undefined;
  /** Normalized header → namespace (built-ins merged with the stack's table). */
  identityHeaders: Record<string, string>;
  /** Hash e-mails and phones into AEP's hashed namespaces (else the manifest's `hashIdentities`). */
  hashIdentities?: boolean | undefined;
}

/** Whether a file's e-mails and phones are hashed: the manifest's word over the stack's (or team's). */
export function hashingOn(settings: HeaderSettings): boolean {
  return settings.manifest?.hashIdentities ?? settings.hashIdentities ?? false;
}

export interface HeaderIssue extends ValidationIssue {
  /** The problem is the manifest's (MANIFEST_INVALID), not the file's. */
  manifest?: true;
}

/** The trimmed column names of a header record. */
export function headerNames(record: readonly string[]): string[] {
  return record.map((h) => h.trim());
}

/** The columns of a header, each with its namespace, declared type and a fresh type observer. */
export function buildColumns(names: readonly string[], settings: HeaderSettings): Column[] {
  const manifest = settings.manifest;
  const hashing = hashingOn(settings);
  return names.map((name) => {
    const detected =
      // The manifest overrides detection only for the columns it names (docs/contracts.md#manifest).
      manifest?.identities?.[name] ?? settings.identityHeaders[normalizeHeader(name)];
    const hashed = hashing && detected ? hashedNamespaceOf(detected) : undefined;
    const identityNs = hashed ?? detected;
    const declared = manifest?.fields?.[name];
    return {
      name,
      ...(identityNs ? { identityNs } : {}),
      ...(hashed && detected ? { hashedFrom: detected } : {}),
      ...(declared ? { declared } : {}),
      observer: new TypeObserver(),
    };
  });
}

/** Everything wrong with a header, in the order a reader meets it; empty when rows can be checked against it. */
export function headerIssues(record: readonly string[], settings: HeaderSettings): HeaderIssue[] {
  const issues: HeaderIssue[] = [];
  const names = headerNames(record);
  const fileIssue = (code: string, message: string, column: string | null = null) =>
    issues.push({ row: 0, column, code, message });
  if (names.length === 1 && /[;\t|]/.test(names[0] ?? '')) {
    const found = (names[0] ?? '').match(/[;\t|]/)?.[0];
    const delimiter = found === '\t' ? 'tab' : `"${found}"`;
    fileIssue(
      'UNSUPPORTED_DELIMITER',
      `the header splits on ${delimiter}, not on commas; save the file as comma-separated`,
    );
    return issues;
  }
  const seen = new Set<string>();
  names.forEach((name, i) => {
    if (name === '') fileIssue('BLANK_COLUMN_NAME', `column ${i + 1} of the header has no name`);
    else if (seen.has(name.toLowerCase()))
      fileIssue('DUPLICATE_COLUMN', `column "${name}" appears twice in the header`, name);
    seen.add(name.toLowerCase());
  });
  if (names.length > MAX_COLUMNS) {
    fileIssue('TOO_MANY_COLUMNS', `the file has ${names.length} columns; AEP accepts at most ${MAX_COLUMNS}`);
  }
  const manifest = settings.manifest;
  for (const [key, map] of [
    ['identities', manifest?.identities],
    ['fields', manifest?.fields],
    ['fieldLabels', manifest?.fieldLabels],
  ] as const) {
    for (const column of Object.keys(map ?? {})) {
      if (!names.includes(column))
        issues.push({
          row: null,
          column: null,
          code: 'MANIFEST_INVALID',
          message: `manifest key "${key}.${column}" names a column the file does not have`,
          manifest: true,
        });
    }
  }
  if (!buildColumns(names, settings).some((c) => c.identityNs)) {
    fileIssue(
      'NO_IDENTITY_COLUMN',
      'no column maps to an identity namespace (e.g. "email", "crm_id", "ecid", "phone")',
    );
  }
  return issues;
}
