// Joins range results, in file order, into one file's result: counts add up, row numbers and line numbers are
// shifted by what came before, the first MAX_LISTED_ERRORS issues are kept in file order, type inference is
// joined per column, and the first range that stopped ends the file. Whether the ranges were one whole file,
// byte ranges of it, or parts of a folder drop, the same code decides the outcome.
import type { AudienceField } from '../../shared/aep/types.ts';
import type { Manifest } from '../manifest.ts';
import type { Column, HeaderIssue, ValidationIssue } from './columns.ts';
import { MAX_LISTED_ERRORS, type RangeResult } from './record-range.ts';

export interface PartSummary {
  key: string;
  rows: number;
  invalidRows: number;
  invalidByCode: Record<string, number>;
}

export interface EngineResult {
  valid: boolean;
  rows: number;
  validRows: number;
  invalidRows: number;
  invalidByCode: Record<string, number>;
  identities: Record<string, number>;
  fields: AudienceField[];
  /** The first MAX_LISTED_ERRORS issues in file order (header problems first); counts above are exact. */
  errors: ValidationIssue[];
  /** Every file-level issue (header, syntax, size, manifest): the reasons the file was stopped, if any. */
  fileErrors: ValidationIssue[];
  /** A one-line summary when the file is refused. */
  failure?: { code: 'VALIDATION_FAILED' | 'MANIFEST_INVALID'; message: string };
  /** Per part, for a folder drop. */
  parts?: PartSummary[];
  /** Bytes of CSV read (decompressed); after a file-level stop, as far as reading had got (it reads ahead). */
  bytes: number;
  durationMs: number;
}

export interface MergeSettings {
  manifest?: Manifest | undefined;
  maxInvalidRowsPercent?: number | undefined;
}

export class ResultMerger {
  rows = 0;
  invalidRows = 0;
  bytes = 0;
  readonly invalidByCode: Record<string, number> = {};
  readonly identities: Record<string, number> = {};
  readonly errors: ValidationIssue[] = [];
  readonly fileErrors: ValidationIssue[] = [];
  /** Line breaks read before the next range (csv-parse counts lines from 1). */
  private lineBreaks = 0;
  private nonWhitespace = false;
  private manifestError = false;
  private columns: Column[] | undefined;
  private parts: PartSummary[] | undefined;
  private readonly started = Date.now();

  constructor(private readonly settings: MergeSettings) {}

  /** Whether a file-level problem stops the file: nothing after it counts. */
  get stopped(): boolean {
    return this.fileErrors.length > 0;
  }

  /** Per-part figures from now on: a folder drop. */
  trackParts(): void {
    this.parts = [];
  }

  startPart(key: string): void {
    this.parts?.push({ key, rows: 0, invalidRows: 0, invalidByCode: {} });
  }

  get hasColumns(): boolean {
    return this.columns !== undefined;
  }

  setColumns(columns: Column[]): void {
    this.columns = columns;
  }

  /** An issue found outside any range (the header, sizes, parts), in file order. */
  fileIssue(issue: HeaderIssue | ValidationIssue): void {
    if ('manifest' in issue && issue.manifest) this.manifestError = true;
    const { manifest: _manifest, ...plain } = issue as HeaderIssue;
    const part = this.currentPart();
    const placed = part && !plain.part ? { ...plain, part } : plain;
    this.fileErrors.push(placed);
    this.count(placed);
  }

  /**
   * Adds the next range; returns the row number before its first row (for its rejects). A range that stopped
   * stops the file, with csv-parse's line made global.
   */
  add(range: RangeResult): number {
    const rowOffset = this.rows;
    const part = this.currentPart();
    for (const issue of range.errors) {
      if (this.errors.length >= MAX_LISTED_ERRORS) break;
      this.errors.push(rebase(issue, rowOffset, part));
    }
    for (const [code, n] of Object.entries(range.invalidByCode))
      this.invalidByCode[code] = (this.invalidByCode[code] ?? 0) + n;
    for (const [ns, n] of Object.entries(range.identities))
      this.identities[ns] = (this.identities[ns] ?? 0) + n;
    this.rows += range.rows;
    this.invalidRows += range.invalidRows;
    this.bytes += range.bytes;
    this.nonWhitespace ||= range.nonWhitespace;
    const summary = this.parts?.at(-1);
    if (summary) {
      summary.rows += range.rows;
      summary.invalidRows += range.invalidRows;
      for (const [code, n] of Object.entries(range.invalidByCode))
        summary.invalidByCode[code] = (summary.invalidByCode[code] ?? 0) + n;
    }
    range.observers.forEach((state, i) => {
      this.columns?.[i]?.observer.merge(state);
    });
    if (range.stop) {
      const { code, message, line } = range.stop;
      this.fileIssue({
        row: null,
        column: null,
        code,
        message:
          line === undefined
            ? message
            : `the CSV cannot be read near line ${this.lineBreaks + line}: ${message}`,
      });
    }
    this.lineBreaks += range.lines - 1;
    return rowOffset;
  }

  /** Line counts restart with each part: csv-parse's lines are a file's lines. */
  resetLines(): void {
    this.lineBreaks = 0;
  }

  /** The file's result; `contentChecks: false` when it was refused before a byte was read. */
  finish(sawHeader: boolean, { contentChecks = true }: { contentChecks?: boolean } = {}): EngineResult {
    if (!contentChecks) {
      // Refused unread: nothing to say about its content.
    } else if (!this.nonWhitespace && !this.fileErrors.some((e) => e.code === 'INVALID_ENCODING')) {
      // Only blanks: whatever the parser made of them, the file is empty.
      this.errors.length = 0;
      this.fileErrors.length = 0;
      for (const code of Object.keys(this.invalidByCode)) delete this.invalidByCode[code];
      this.fileIssue({
        row: null,
        column: null,
        code: 'EMPTY_FILE',
        message: this.bytes === 0 ? 'the file is empty (0 bytes)' : 'the file holds only whitespace',
      });
    } else if (!sawHeader && !this.stopped) {
      this.fileIssue({ row: null, column: null, code: 'NO_ROWS', message: 'the file has no header' });
    }
    if (!this.stopped && this.rows === 0)
      this.fileIssue({
        row: null,
        column: null,
        code: 'NO_ROWS',
        message: 'the file has a header and no data rows',
      });
    const fileError = this.stopped;
    const allowed = this.settings.manifest?.maxInvalidRowsPercent ?? this.settings.maxInvalidRowsPercent ?? 0;
    const invalidRows = this.invalidRows;
    const rows = this.rows;
    const tooMany = invalidRows > 0 && (invalidRows * 100) / Math.max(rows, 1) > allowed;
    const valid = !fileError && !tooMany;
    const manifest = this.settings.manifest;
    const result: EngineResult = {
      valid,
      rows,
      validRows: fileError ? 0 : rows - invalidRows,
      invalidRows,
      invalidByCode: this.invalidByCode,
      identities: this.identities,
      fields: (this.columns ?? []).map((c) => ({
        name: c.name,
        type: c.identityNs ? 'string' : (c.declared ?? c.observer.result()),
        ...(c.identityNs ? { identityNs: c.identityNs } : {}),
        ...(manifest?.fieldLabels?.[c.name] ? { labels: manifest.fieldLabels[c.name] } : {}),
      })),
      errors: this.errors,
      fileErrors: this.fileErrors,
      ...(this.parts ? { parts: this.parts } : {}),
      bytes: this.bytes,
      durationMs: Date.now() - this.started,
    };
    if (!valid) {
      // A file-level problem is the reason the file stopped, even when row errors were listed before it.
      const first = this.fileErrors[0] ?? this.errors[0];
      const codes = Object.entries(this.invalidByCode)
        .map(([code, n]) => `${code}: ${n}`)
        .join(', ');
      const where = first?.part ? ` (${first.part})` : '';
      result.failure = {
        code: this.manifestError ? 'MANIFEST_INVALID' : 'VALIDATION_FAILED',
        message: fileError
          ? `${first?.code}: ${first?.message}${where}${moreFileProblems(this.fileErrors)}`
          : `${invalidRows.toLocaleString('en-US')} of ${rows.toLocaleString('en-US')} rows are invalid (${codes}), more than the ${allowed}% allowed; first: ${first?.message}${where}`,
      };
    }
    return result;
  }

  private currentPart(): string | undefined {
    return this.parts?.at(-1)?.key;
  }

  private count(issue: ValidationIssue): void {
    this.invalidByCode[issue.code] = (this.invalidByCode[issue.code] ?? 0) + 1;
    if (this.errors.length < MAX_LISTED_ERRORS) this.errors.push(issue);
  }
}

/**
 * A range's issue with the file's row number. Row messages begin `row <n>` (row-checker.ts); the number in
 * the message is rewritten with the field.
 */
export function rebase(issue: ValidationIssue, rowOffset: number, part?: string): ValidationIssue {
  const placed = part ? { ...issue, part } : issue;
  if (rowOffset === 0 || issue.row === null) return placed;
  const row = issue.row + rowOffset;
  const local = `row ${issue.row}`;
  const message = issue.message.startsWith(local)
    ? `row ${row}${issue.message.slice(local.length)}`
    : issue.message;
  return { ...placed, row, message };
}

/** `; also DUPLICATE_COLUMN, TOO_MANY_COLUMNS` when a file has more than one file-level problem. */
function moreFileProblems(fileErrors: ValidationIssue[]): string {
  const others = [...new Set(fileErrors.slice(1).map((e) => e.code))];
  return others.length > 0 ? `; also ${others.join(', ')}` : '';
}
