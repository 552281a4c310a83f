// The validation engine (docs/contracts.md#validation-rules-and-codes): one streaming pass over CSV bytes,
// bounded memory, no AWS. Writes the
// canonical staged copy and the rejects as it goes; the caller decides what to keep from the result.
import { isUtf8 } from 'node:buffer';
import type { Readable, Writable } from 'node:stream';
import { parse } from 'csv-parse';
import type { AepFieldType, AudienceField } from '../../shared/aep/types.ts';
import type { Manifest } from '../manifest.ts';
import { csvLine } from './csv-writer.ts';
import { normalizeHeader } from './identities.ts';
import { TypeObserver } from './inference.ts';
import { OutputBatch } from './output-batch.ts';
import { RowChecker } from './row-checker.ts';

export const MAX_COLUMNS = 41;
export const MAX_LISTED_ERRORS = 1000;

/** csv-parse's options: arrays (no per-row objects), BOM stripped, blank lines skipped, widths checked by us. */
export const CSV_PARSE_OPTIONS = {
  bom: true,
  relax_column_count: true,
  skip_empty_lines: true,
  skip_records_with_empty_values: false,
} as const;

export interface ValidationIssue {
  row: number | null;
  column: string | null;
  code: string;
  message: string;
}

export interface EngineOptions {
  manifest?: Manifest | undefined;
  /** Normalized header → namespace (built-ins merged with the stack's table). */
  identityHeaders: Record<string, string>;
  maxInvalidRowsPercent?: number | undefined;
  maxFileSizeBytes?: number | undefined;
  /** Size of the input, when known before reading (S3 HEAD, fs.stat). */
  sizeBytes?: number | undefined;
  /** Receives the canonical copy: UTF-8, no BOM, `\n`, trimmed headers, normalized identities, good rows only. */
  staged?: Writable | undefined;
  /** Receives `row,column,code,message` lines (values masked). */
  rejects?: Writable | undefined;
}

export interface EngineResult {
  valid: boolean;
  rows: number;
  validRows: number;
  invalidRows: number;
  invalidByCode: Record<string, number>;
  identities: Record<string, number>;
  fields: AudienceField[];
  /** The first MAX_LISTED_ERRORS issues in the order found (header problems first); counts above are exact. */
  errors: ValidationIssue[];
  /** Every file-level issue (header, syntax, size, manifest): the reasons the file was stopped, if any. */
  fileErrors: ValidationIssue[];
  /** A one-line summary when the file is refused. */
  failure?: { code: 'VALIDATION_FAILED' | 'MANIFEST_INVALID'; message: string };
  bytes: number;
  durationMs: number;
}

export interface Column {
  name: string;
  identityNs?: string;
  declared?: AepFieldType;
  observer: TypeObserver;
}

export async function validateCsv(input: Readable, options: EngineOptions): Promise<EngineResult> {
  const started = Date.now();
  const errors: ValidationIssue[] = [];
  const fileErrors: ValidationIssue[] = [];
  const invalidByCode: Record<string, number> = {};
  const identities: Record<string, number> = {};
  let bytes = 0;
  let nonWhitespace = false;
  let rows = 0;
  let invalidRows = 0;
  let columns: Column[] = [];
  let fileError = false;
  let manifestError = false;

  const issue = (e: ValidationIssue) => {
    invalidByCode[e.code] = (invalidByCode[e.code] ?? 0) + 1;
    if (errors.length < MAX_LISTED_ERRORS) errors.push(e);
  };
  const fileIssue = (
    code: string,
    message: string,
    row: number | null = null,
    column: string | null = null,
  ) => {
    fileError = true;
    fileErrors.push({ row, column, code, message });
    issue({ row, column, code, message });
  };
  const finish = (): EngineResult => {
    const validRows = rows - invalidRows;
    if (!fileError && rows === 0) fileIssue('NO_ROWS', 'the file has a header and no data rows');
    const allowed = options.manifest?.maxInvalidRowsPercent ?? options.maxInvalidRowsPercent ?? 0;
    const tooMany = invalidRows > 0 && (invalidRows * 100) / Math.max(rows, 1) > allowed;
    const valid = !fileError && !tooMany;
    const result: EngineResult = {
      valid,
      rows,
      validRows: fileError ? 0 : validRows,
      invalidRows,
      invalidByCode,
      identities,
      fields: columns.map((c) => ({
        name: c.name,
        type: c.identityNs ? 'string' : (c.declared ?? c.observer.result()),
        ...(c.identityNs ? { identityNs: c.identityNs } : {}),
        ...(options.manifest?.fieldLabels?.[c.name] ? { labels: options.manifest.fieldLabels[c.name] } : {}),
      })),
      errors,
      fileErrors,
      bytes,
      durationMs: Date.now() - started,
    };
    if (!valid) {
      // A file-level problem is the reason the file stopped, even when row errors were listed before it.
      const first = fileErrors[0] ?? errors[0];
      const codes = Object.entries(invalidByCode)
        .map(([code, n]) => `${code}: ${n}`)
        .join(', ');
      result.failure = {
        code: manifestError ? 'MANIFEST_INVALID' : 'VALIDATION_FAILED',
        message: fileError
          ? `${first?.code}: ${first?.message}${moreFileProblems(fileErrors)}`
          : `${invalidRows.toLocaleString('en-US')} of ${rows.toLocaleString('en-US')} rows are invalid (${codes}), more than the ${allowed}% allowed; first: ${first?.message}`,
      };
    }
    return result;
  };

  if (
    options.maxFileSizeBytes !== undefined &&
    options.sizeBytes !== undefined &&
    options.sizeBytes > options.maxFileSizeBytes
  ) {
    fileIssue(
      'FILE_TOO_LARGE',
      `the file is ${options.sizeBytes} bytes, over the maximum of ${options.maxFileSizeBytes}`,
    );
    input.destroy();
    return finish();
  }

  const utf8 = new Utf8Check();
  const parser = parse(CSV_PARSE_OPTIONS);
  const feed = (async () => {
    try {
      for await (const chunk of input) {
        const buffer = chunk as Buffer;
        bytes += buffer.length;
        if (!utf8.push(buffer)) {
          throw Object.assign(new Error('the file is not valid UTF-8 text'), { code: 'INVALID_ENCODING' });
        }
        if (!nonWhitespace) {
          // A UTF-8 BOM (ï»¿ read as latin1) at the very start is not content: a BOM alone is an empty file.
          const text = buffer.toString('latin1');
          if (/\S/.test(bytes === buffer.length ? text.replace(/^\xef\xbb\xbf/, '') : text))
            nonWhitespace = true;
        }
        if (buffer.includes(0)) {
          throw Object.assign(new Error('the file holds binary content (NUL bytes), not CSV text'), {
            code: 'BINARY',
          });
        }
        if (!parser.write(buffer)) {
          // A parse error destroys the parser: then no 'drain' comes, and reading stops.
          await new Promise<void>((resolve) => {
            const go = () => {
              parser.off('drain', go);
              parser.off('close', go);
              resolve();
            };
            parser.on('drain', go);
            parser.on('close', go);
          });
        }
        if (parser.destroyed) return;
      }
      if (!utf8.end()) {
        throw Object.assign(new Error('the file is not valid UTF-8 text'), { code: 'INVALID_ENCODING' });
      }
      parser.end();
    } catch (error) {
      parser.destroy(error as Error);
    }
  })();

  // Output is gathered into strings and written in batches of about 64 KB: one stream write per row costs
  // more than the checks themselves. A batch is awaited only when the sink pushes back.
  const staged = new OutputBatch(options.staged);
  const rejects = new OutputBatch(options.rejects);
  let header: string[] | undefined;
  let row: RowChecker | undefined;
  /** One record; a promise when an output pushed back (reading pauses until it drains), else nothing. */
  const onRecord = (record: string[]): Promise<void> | undefined | 'STOP' => {
    // A line of blanks is a blank line (csv-parse skips only truly empty ones): skipped, not a row.
    if (record.length === 1 && record[0]!.trim() === '') return undefined;
    if (!row) {
      header = record;
      columns = checkHeader(record, options, fileIssue, (m) => {
        manifestError = true;
        fileIssue('MANIFEST_INVALID', m);
      });
      if (fileError) return 'STOP';
      row = new RowChecker(columns);
      staged.add(csvLine(columns.map((c) => c.name)));
      return undefined;
    }
    rows += 1;
    const rowIssues = row.check(record, rows);
    if (rowIssues) {
      invalidRows += 1;
      for (const e of rowIssues) {
        issue(e);
        rejects.add(csvLine([String(e.row), e.column ?? '', e.code, e.message]));
      }
      return rejects.flushIfFull();
    }
    staged.add(row.stage(identities));
    return staged.flushIfFull();
  };
  try {
    // 'data' events rather than `for await`: one promise per record costs more than many a check.
    await new Promise<void>((resolve, reject) => {
      parser.on('data', (record: string[]) => {
        const outcome = onRecord(record);
        if (outcome === 'STOP') {
          parser.destroy();
          resolve();
        } else if (outcome) {
          parser.pause();
          outcome.then(() => parser.resume(), reject);
        }
      });
      parser.once('end', resolve);
      parser.once('error', reject);
      // Destroyed by the feed (a read error it passes on arrives as 'error' first) or above.
      parser.once('close', resolve);
    });
    await staged.flush();
    await rejects.flush();
  } catch (error) {
    const e = error as { code?: string; message: string; lines?: number };
    if (e.code === 'INVALID_ENCODING') fileIssue('INVALID_ENCODING', e.message);
    else if (e.code === 'BINARY') fileIssue('CSV_SYNTAX', e.message);
    else
      fileIssue(
        'CSV_SYNTAX',
        `the CSV cannot be read near line ${e.lines ?? '?'}: ${parserProblem(e.message)}`,
      );
  }
  input.destroy();
  await feed.catch(() => undefined);
  if (!nonWhitespace && !errors.some((e) => e.code === 'INVALID_ENCODING')) {
    // Only blanks: whatever the parser made of them, the file is empty.
    errors.length = 0;
    fileErrors.length = 0;
    for (const code of Object.keys(invalidByCode)) delete invalidByCode[code];
    fileIssue('EMPTY_FILE', bytes === 0 ? 'the file is empty (0 bytes)' : 'the file holds only whitespace');
    return finish();
  }
  if (!header && !fileError) {
    fileIssue(
      nonWhitespace ? 'NO_ROWS' : 'EMPTY_FILE',
      nonWhitespace ? 'the file has no header' : 'the file is empty',
    );
  }
  return finish();
}

/**
 * Streaming UTF-8 validation without decoding: `isUtf8` on each chunk up to its last complete character, the
 * few bytes of a character split across chunks carried into the next.
 */
export class Utf8Check {
  private carry: Buffer = Buffer.alloc(0);

  /** False once the bytes so far cannot be UTF-8. */
  push(chunk: Buffer): boolean {
    const data = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    const cut = completeLength(data);
    this.carry = Buffer.from(data.subarray(cut));
    return isUtf8(data.subarray(0, cut));
  }

  /** False when the input ended inside a character. */
  end(): boolean {
    return this.carry.length === 0;
  }
}

/** The length of `data` without a trailing, still incomplete multi-byte character. */
function completeLength(data: Buffer): number {
  // Look back over at most 3 continuation bytes (10xxxxxx) for the lead byte of the last character.
  for (let back = 1; back <= Math.min(4, data.length); back++) {
    const byte = data[data.length - back]!;
    if ((byte & 0xc0) === 0x80) continue;
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    // Complete, or not a lead byte at all (then isUtf8 refuses it): cut nothing.
    return needed > back ? data.length - back : data.length;
  }
  return data.length;
}

/** `; also DUPLICATE_COLUMN, TOO_MANY_COLUMNS` when a file has more than one file-level problem. */
function moreFileProblems(fileErrors: ValidationIssue[]): string {
  const others = [...new Set(fileErrors.slice(1).map((e) => e.code))];
  return others.length > 0 ? `; also ${others.join(', ')}` : '';
}

function checkHeader(
  record: string[],
  options: EngineOptions,
  fileIssue: (code: string, message: string, row?: number | null, column?: string | null) => void,
  manifestIssue: (message: string) => void,
): Column[] {
  const names = record.map((h) => h.trim());
  if (names.length === 1 && /[;\t|]/.test(names[0] ?? '')) {
    const delimiter =
      (names[0] ?? '').match(/[;\t|]/)?.[0] === '\t' ? 'tab' : `"${(names[0] ?? '').match(/[;\t|]/)?.[0]}"`;
    fileIssue(
      'UNSUPPORTED_DELIMITER',
      `the header splits on ${delimiter}, not on commas; save the file as comma-separated`,
      0,
    );
    return [];
  }
  const seen = new Set<string>();
  names.forEach((name, i) => {
    if (name === '') fileIssue('BLANK_COLUMN_NAME', `column ${i + 1} of the header has no name`, 0);
    else if (seen.has(name.toLowerCase()))
      fileIssue('DUPLICATE_COLUMN', `column "${name}" appears twice in the header`, 0, name);
    seen.add(name.toLowerCase());
  });
  if (names.length > MAX_COLUMNS) {
    fileIssue(
      'TOO_MANY_COLUMNS',
      `the file has ${names.length} columns; AEP accepts at most ${MAX_COLUMNS}`,
      0,
    );
  }
  const manifest = options.manifest;
  for (const [key, map] of [
    ['identities', manifest?.identities],
    ['fields', manifest?.fields],
    ['fieldLabels', manifest?.fieldLabels],
  ] as const) {
    for (const column of Object.keys(map ?? {})) {
      if (!names.includes(column))
        manifestIssue(`manifest key "${key}.${column}" names a column the file does not have`);
    }
  }
  const columns: Column[] = names.map((name) => {
    const identityNs =
      // The manifest overrides detection only for the columns it names (docs/contracts.md#manifest).
      manifest?.identities?.[name] ?? options.identityHeaders[normalizeHeader(name)];
    const declared = manifest?.fields?.[name];
    return {
      name,
      ...(identityNs ? { identityNs } : {}),
      ...(declared ? { declared } : {}),
      observer: new TypeObserver(),
    };
  });
  if (!columns.some((c) => c.identityNs)) {
    fileIssue(
      'NO_IDENTITY_COLUMN',
      'no column maps to an identity namespace (e.g. "email", "crm_id", "ecid", "phone")',
      0,
    );
  }
  return columns;
}

/** csv-parse's message without the cell value it sometimes quotes (`value is "…"`): reports hold no raw data. */
function parserProblem(message: string): string {
  return message
    .replace(/\s+/g, ' ')
    .replace(/[,:]?\s*(got|value is|found)\s+"[^"]*"/gi, '')
    .replace(/"[^"]{2,}"/g, '"***"');
}
