// One run of csv-parse over a stretch of a file that starts and ends on record boundaries: the unit of work of
// the validation engine, whether it is the whole file (one thread) or one byte range of it (a worker). Its
// result holds only counts and local row numbers, so that ranges merge exactly (merge.ts).
import { isUtf8 } from 'node:buffer';
import { Parser } from 'csv-parse';
import type { Column, ValidationIssue } from './columns.ts';
import { type ObserverState, observerState } from './inference.ts';
import { RowChecker } from './row-checker.ts';

export const MAX_LISTED_ERRORS = 1000;
const CUT_SENTINEL = Buffer.from(',,,,,,,,,,,,,,,,');

/**
 * csv-parse's options: arrays (no per-row objects), blank lines skipped, widths checked by us. Any of CRLF,
 * LF and CR ends a record, each on its own: concatenated exports mix them (a CRLF header over LF rows), and
 * csv-parse's own detection would fix the delimiter from the first line and read such a file as a few very
 * wide rows. The array is in that order so that CRLF is one delimiter, not CR then an empty line.
 */
export const RECORD_DELIMITERS = ['\r\n', '\n', '\r'];
export function csvParseOptions(atStartOfFile: boolean) {
  return {
    // A BOM is only one at the start of a file; inside a range its bytes are data, as in one pass.
    bom: atStartOfFile,
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_empty_values: false,
    record_delimiter: RECORD_DELIMITERS,
  } as const;
}

/** Why reading stopped before the end: the file cannot be read as CSV from this point on. */
export interface RangeStop {
  code: 'CSV_SYNTAX' | 'INVALID_ENCODING';
  message: string;
  /** csv-parse's line count at the problem (1-based, counting every line break), for CSV_SYNTAX. */
  line?: number;
}

/** What a range found: plain data, so that it crosses a worker boundary by structured clone. */
export interface RangeResult {
  rows: number;
  invalidRows: number;
  invalidByCode: Record<string, number>;
  identities: Record<string, number>;
  /** The range's first MAX_LISTED_ERRORS row issues, rows counted from 1 within the range. */
  errors: ValidationIssue[];
  /** Every issue of every rejected row (rows counted within the range): the lines of rejects.csv. */
  rejects: ValidationIssue[];
  /** The canonical copy of the range's good rows. */
  staged: string;
  /** Per column, what type inference learnt from the range's values. */
  observers: ObserverState[];
  /** csv-parse's line count at the end: 1 + the line breaks it read. */
  lines: number;
  nonWhitespace: boolean;
  bytes: number;
  /** The first non-blank record, when the range was asked to find the header. */
  header?: string[];
  stop?: RangeStop;
}

type Api = {
  parse(
    buf: Buffer | undefined,
    end: boolean,
    push: (record: string[]) => void,
    close: () => void,
  ): Error | undefined;
  info: { lines: number };
};

export interface RecordRangeOptions {
  /** The columns of the file; absent when this range starts the file and reads its header first. */
  columns?: Column[];
  /** Called with the header (when `columns` is absent): the columns to check rows with, or undefined to stop. */
  onHeader?: (record: string[]) => Column[] | undefined;
  atStartOfFile: boolean;
}

/**
 * Feeds bytes to csv-parse's synchronous core (no stream: one pass, no per-chunk promises) and checks each
 * record. `write` takes any chunking; the result does not depend on it.
 */
export class RecordRange {
  private readonly api: Api;
  private readonly onHeader: RecordRangeOptions['onHeader'];
  private columns: Column[] | undefined;
  private checker: RowChecker | undefined;
  private readonly utf8Carry: { bytes: Buffer } = { bytes: Buffer.alloc(0) };
  private atStart: boolean;
  private stopped = false;
  private headerDone: boolean;
  private readonly result: RangeResult = {
    rows: 0,
    invalidRows: 0,
    invalidByCode: {},
    identities: {},
    errors: [],
    rejects: [],
    staged: '',
    observers: [],
    lines: 1,
    nonWhitespace: false,
    bytes: 0,
  };
  private readonly push = (record: string[]) => this.onRecord(record);
  private readonly close = () => undefined;

  constructor(options: RecordRangeOptions) {
    this.api = (new Parser(csvParseOptions(options.atStartOfFile)) as unknown as { api: Api }).api;
    this.columns = options.columns;
    this.onHeader = options.onHeader;
    this.headerDone = options.columns !== undefined;
    if (this.columns) this.checker = new RowChecker(this.columns);
    this.atStart = options.atStartOfFile;
  }

  get done(): boolean {
    return this.stopped;
  }

  /** The staged text gathered so far, handed over (the caller writes it out in order). */
  takeStaged(): string {
    const text = this.result.staged;
    this.result.staged = '';
    return text;
  }

  /** The rejects gathered so far, handed over. */
  takeRejects(): ValidationIssue[] {
    const taken = this.result.rejects;
    this.result.rejects = [];
    return taken;
  }

  write(chunk: Buffer): void {
    if (this.stopped || chunk.length === 0) return;
    this.result.bytes += chunk.length;
    if (!this.result.nonWhitespace) this.noteContent(chunk);
    // The parser only ever sees whole characters: the bytes of one cut at the end of the chunk wait for the
    // next, so that where a read stops does not depend on the chunking.
    const carry = this.utf8Carry.bytes;
    const data = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    const cut = completeLength(data);
    const complete = data.subarray(0, cut);
    this.utf8Carry.bytes = Buffer.from(data.subarray(cut));
    // Bytes that cannot be CSV text stop the read where they are: the rows before them are counted, the one
    // they sit in is not.
    const bad = firstUnreadable(complete);
    const usable = bad ? complete.subarray(0, bad.at) : complete;
    if (usable.length > 0) this.parse(usable, false);
    if (bad && !this.stopped) {
      this.cutHere();
      if (!this.stopped) this.stop({ code: bad.code, message: bad.message });
    }
  }

  /**
   * The range's result. `flush: false` when the input was cut short (a size limit): the records that ended
   * before the cut count, the partial one after them does not.
   */
  end(options: { flush?: boolean } = {}): RangeResult {
    if (!this.stopped && options.flush === false) this.cutHere();
    else if (!this.stopped) {
      if (this.utf8Carry.bytes.length > 0) {
        // The input ended inside a character (never given to the parser): the records before it count, as
        // when a bad byte stops the read.
        this.cutHere();
        if (!this.stopped)
          this.stop({ code: 'INVALID_ENCODING', message: 'the file is not valid UTF-8 text' });
      } else this.parse(undefined, true);
    }
    this.result.lines = this.api.info.lines;
    this.result.observers = (this.columns ?? []).map((c) => observerState(c.observer));
    return this.result;
  }

  /**
   * Ends the input where it is without taking the partial record after the last line break: csv-parse still
   * holds a record whose line break ends the bytes (it looks up to 3 bytes ahead: a CRLF, a quote and a
   * delimiter), so it gets a few more bytes: commas, valid after anything, which only start a record that is
   * never finished.
   */
  private cutHere(): void {
    this.parse(CUT_SENTINEL, false);
  }

  private parse(buf: Buffer | undefined, end: boolean): void {
    const error = this.api.parse(buf, end, this.push, this.close) as
      | (Error & { code?: string; lines?: number })
      | undefined;
    if (error && !this.stopped) {
      this.stop({
        code: 'CSV_SYNTAX',
        message: parserProblem(error.message),
        line: error.lines ?? this.api.info.lines,
      });
    }
  }

  private stop(stop: RangeStop): void {
    this.stopped = true;
    this.result.stop = stop;
    this.result.lines = this.api.info.lines;
  }

  private onRecord(record: string[]): void {
    if (this.stopped) return;
    // A line of blanks is a blank line (csv-parse skips only truly empty ones): skipped, not a row.
    if (record.length === 1 && record[0]!.trim() === '') return;
    const result = this.result;
    if (!this.headerDone) {
      this.headerDone = true;
      result.header = record;
      this.columns = this.onHeader?.(record);
      if (!this.columns) {
        this.stopped = true;
        return;
      }
      this.checker = new RowChecker(this.columns);
      return;
    }
    result.rows += 1;
    const rowIssues = this.checker!.check(record, result.rows);
    if (rowIssues) {
      result.invalidRows += 1;
      for (const e of rowIssues) {
        result.invalidByCode[e.code] = (result.invalidByCode[e.code] ?? 0) + 1;
        if (result.errors.length < MAX_LISTED_ERRORS) result.errors.push(e);
        result.rejects.push(e);
      }
      return;
    }
    result.staged += this.checker!.stage(result.identities);
  }

  /** Whether any byte is more than whitespace; a UTF-8 BOM at the very start of a file is not content. */
  private noteContent(chunk: Buffer): void {
    let text = chunk.toString('latin1');
    if (this.atStart) text = text.replace(/^\xef\xbb\xbf/, '');
    this.atStart = false;
    if (/\S/.test(text)) this.result.nonWhitespace = true;
  }
}

/** The first byte of whole characters that is a NUL or starts a sequence that is not UTF-8, and what it means. */
function firstUnreadable(data: Buffer): { at: number; code: RangeStop['code']; message: string } | undefined {
  const invalidAt = isUtf8(data) ? -1 : firstInvalidUtf8(data);
  const nul = data.indexOf(0);
  if (nul >= 0 && (invalidAt < 0 || nul < invalidAt))
    return {
      at: nul,
      code: 'CSV_SYNTAX',
      message: 'the file holds binary content (NUL bytes), not CSV text',
    };
  if (invalidAt >= 0)
    return { at: invalidAt, code: 'INVALID_ENCODING', message: 'the file is not valid UTF-8 text' };
  return undefined;
}

/** The length of `data` without a trailing, still incomplete multi-byte character. */
export function completeLength(data: Buffer): number {
  // Look back over at most 3 continuation bytes (10xxxxxx) for the lead byte of the last character.
  for (let back = 1; back <= Math.min(4, data.length); back++) {
    const byte = data[data.length - back]!;
    if ((byte & 0xc0) === 0x80) continue;
    // Never the start of a character (C0, C1, F5–FF): nothing to wait for, isUtf8 refuses it now.
    if (byte >= 0xf5 || byte === 0xc0 || byte === 0xc1) return data.length;
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    // Complete, or not a lead byte at all (then isUtf8 refuses it): cut nothing.
    return needed > back ? data.length - back : data.length;
  }
  return data.length;
}

/**
 * Where the first byte that does not begin a valid UTF-8 character is (`data` holds whole characters and is
 * known not to be valid): the same rules as `isUtf8` (no overlong forms, no surrogates, nothing above
 * U+10FFFF). A plain scan: it only runs on the one chunk that stops the read.
 */
export function firstInvalidUtf8(data: Uint8Array): number {
  let i = 0;
  while (i < data.length) {
    const lead = data[i]!;
    if (lead < 0x80) {
      i += 1;
      continue;
    }
    const trailing =
      lead >= 0xc2 && lead <= 0xdf
        ? 1
        : lead >= 0xe0 && lead <= 0xef
          ? 2
          : lead >= 0xf0 && lead <= 0xf4
            ? 3
            : 0;
    if (trailing === 0) return i;
    const low = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
    const high = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
    const second = data[i + 1];
    if (second === undefined || second < low || second > high) return i;
    for (let k = 2; k <= trailing; k++) if (((data[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    i += trailing + 1;
  }
  return -1;
}

/**
 * csv-parse's message without the cell value it sometimes quotes (`value is "…"`): reports hold no raw data.
 * Without its `at line N` too: that is the range's line, and the engine says the file's.
 */
export function parserProblem(message: string): string {
  return message
    .replace(/\s+/g, ' ')
    .replace(/ at line \d+/g, '')
    .replace(/[,:]?\s*(got|value is|found)\s+"[^"]*"/gi, '')
    .replace(/"[^"]{2,}"/g, '"***"');
}
