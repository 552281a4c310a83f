// One read of a stretch of a file that starts and ends on record boundaries, as csv-parse reads it: the unit of
// work of the validation engine, whether it is the whole file (one thread) or one byte range of it (a worker).
// Its result holds only counts and local row numbers, so that ranges merge exactly (merge.ts).
import { isUtf8 } from 'node:buffer';
import { Parser } from 'csv-parse';
import type { Column, ValidationIssue } from './columns.ts';
import { FedBytes } from './fed-bytes.ts';
import { type ObserverState, observerState } from './inference.ts';
import { RowChecker } from './row-checker.ts';
import { StagedBytes } from './staged-bytes.ts';

export const MAX_LISTED_ERRORS = 1000;
const CUT_SENTINEL = Buffer.from(',,,,,,,,,,,,,,,,');
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
/** The longest unfinished record waited for before csv-parse streams the rest of the range (see `feed`). */
const MAX_CARRIED_BYTES = 16 * 1024 * 1024;

/**
 * The tests' references: `verbatim: false` re-serializes every row (instead of copying rows already canonical);
 * `splitLines: false` has csv-parse read every line (instead of splitting quote-free ones here).
 */
export const staging = { verbatim: true, splitLines: true };

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
  /** The canonical copy of the range's good rows (UTF-8; a Buffer that owns its memory from offset 0). */
  staged: Uint8Array;
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
  info: { lines: number; bytes: number; empty_lines: number };
};

export interface RecordRangeOptions {
  /** The columns of the file; absent when this range starts the file and reads its header first. */
  columns?: Column[];
  /** Called with the header (when `columns` is absent): the columns to check rows with, or undefined to stop. */
  onHeader?: (record: string[]) => Column[] | undefined;
  atStartOfFile: boolean;
  /** Bytes to reserve for the staged copy at a time (a slice's size, when it is parsed whole). */
  stagedCapacity?: number;
}

/**
 * Reads records and checks each: quote-free lines split here, every record holding a quote read by csv-parse's
 * synchronous core (no stream: no per-chunk promises); see `readCarried`. `write` takes any chunking; the result
 * does not depend on it.
 *
 * A good row's staged line is most often its own bytes: no quote in them (so no cell holds a comma, a quote or
 * a line break, and none needs quoting), identities already normalized, nothing skipped before it. Such rows
 * are copied as bytes (consecutive LF-ended ones in one copy) instead of being serialized cell by cell: the
 * same bytes, at a fraction of the cost. Any other row is re-serialized.
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
  private readonly staged: StagedBytes;
  private readonly fed = new FedBytes();
  /** csv-parse reads everything from here on, as a stream (a record too long to wait for, or the reference). */
  private streaming: boolean;
  /** A UTF-8 BOM may still start the range's first bytes (the range starts the file). */
  private bomPending: boolean;
  /** Bytes received but not read yet (an unfinished line or record), and the position of the first. */
  private carry: Buffer = Buffer.alloc(0);
  private carryStart = 0;
  /** csv-parse's line count for the range: 1 + every line break read (a CRLF in quotes counts two, as there). */
  private lines = 1;
  /** The position of csv-parse's byte 0 (`info.bytes` is relative to the stretch it is given). */
  private parserBase = 0;
  /** Where csv-parse's next record starts, and its count of skipped empty lines then. */
  private recordStart = 0;
  private emptyLines = 0;
  /** Input bytes `[runStart, runEnd)` that are staged lines as they are, not yet copied. */
  private runStart = 0;
  private runEnd = 0;
  private readonly result: RangeResult = {
    rows: 0,
    invalidRows: 0,
    invalidByCode: {},
    identities: {},
    errors: [],
    rejects: [],
    staged: new Uint8Array(0),
    observers: [],
    lines: 1,
    nonWhitespace: false,
    bytes: 0,
  };
  private readonly push = (record: string[]) => this.parsedRecord(record);
  private readonly close = () => undefined;

  constructor(options: RecordRangeOptions) {
    this.streaming = !staging.splitLines;
    // Splitting lines, the range skips a BOM itself (csv-parse only ever sees stretches after it).
    this.api = (
      new Parser(csvParseOptions(options.atStartOfFile && this.streaming)) as unknown as { api: Api }
    ).api;
    this.bomPending = options.atStartOfFile && !this.streaming;
    this.columns = options.columns;
    this.onHeader = options.onHeader;
    this.headerDone = options.columns !== undefined;
    if (this.columns) this.checker = new RowChecker(this.columns);
    this.atStart = options.atStartOfFile;
    this.staged = new StagedBytes(options.stagedCapacity ?? 64 * 1024);
  }

  get done(): boolean {
    return this.stopped;
  }

  /** The staged bytes gathered so far, handed over (the caller writes them out in order). */
  takeStaged(): Buffer {
    this.flushRun();
    return this.staged.take();
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
    if (usable.length > 0) this.feed(usable);
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
      } else if (this.streaming) this.parseStream(undefined, true);
      else this.readCarried('end');
    }
    this.result.lines = this.lines;
    this.result.observers = (this.columns ?? []).map((c) => observerState(c.observer));
    this.flushRun();
    this.result.staged = this.staged.take();
    return this.result;
  }

  private feed(bytes: Buffer): void {
    this.fed.add(bytes);
    if (this.streaming) {
      this.parseStream(bytes, false);
      this.flushRun();
      this.fed.release(this.recordStart);
      return;
    }
    this.readMore(bytes);
    if (!this.stopped && this.carry.length > MAX_CARRIED_BYTES) {
      // One record longer than this (a huge quoted cell, a file with no line breaks): csv-parse takes it as it
      // streams, rather than being handed ever longer copies of it.
      this.streaming = true;
      const carried = this.carry;
      this.carry = Buffer.alloc(0);
      this.parserBase = this.carryStart;
      this.recordStart = this.carryStart;
      this.emptyLines = this.api.info.empty_lines;
      this.parseStream(carried, false);
    }
    this.flushRun();
    // What is still needed: the carried bytes, or (streaming) csv-parse's unfinished record.
    this.fed.release(this.streaming ? this.recordStart : this.carryStart);
  }

  /**
   * Reads on with `bytes` after the carried ones. The carried bytes are most often the start of a line: they
   * are joined with this chunk's first line only, not copied with all of it.
   */
  private readMore(bytes: Buffer): void {
    if (this.carry.length > 0) {
      const lf = bytes.indexOf(LF);
      if (lf !== -1) {
        this.carry = Buffer.concat([this.carry, bytes.subarray(0, lf + 1)]);
        this.readCarried('more');
        const rest = bytes.subarray(lf + 1);
        // Still unfinished (a quoted record going on): the rest joins it.
        this.carry = this.carry.length > 0 ? Buffer.concat([this.carry, rest]) : rest;
      } else this.carry = Buffer.concat([this.carry, bytes]);
    } else this.carry = bytes;
    if (!this.stopped) this.readCarried('more');
  }

  /**
   * Ends the input where it is without taking the partial record after the last line break. Streaming,
   * csv-parse still holds a record whose line break ends the bytes (it looks up to 3 bytes ahead: a CRLF, a
   * quote and a delimiter), so it gets a few more bytes: commas, valid after anything, which only start a
   * record that is never finished.
   */
  private cutHere(): void {
    if (this.streaming) this.parseStream(CUT_SENTINEL, false);
    else this.readCarried('cut');
  }

  /**
   * Reads the carried bytes as far as they go: each quote-free line split on its commas here, each record
   * holding a quote (with the quoted records right after it) by csv-parse. `more`: bytes may follow, so an
   * unfinished line waits; `end`: the input ends, a last line without a line break is a record; `cut`: the
   * input was cut short, so it is not, and an unfinished quoted record goes to csv-parse as streaming would
   * (it may be where the file is broken).
   *
   * Why not csv-parse for all: its byte-by-byte state machine is most of the engine's time, and a line with no
   * quote needs none. csv-parse reads such a line as its bytes between commas (no trimming, no casting, no
   * comments), ended by CRLF, LF or CR, an empty one skipped; so does this, and every record with a quote is
   * still csv-parse's, whose line count and messages stay as they are.
   */
  private readCarried(mode: 'more' | 'end' | 'cut'): void {
    const data = this.carry;
    const base = this.carryStart;
    const n = data.length;
    let p = 0;
    if (this.bomPending) {
      if (n < 3 && mode === 'more') return;
      this.bomPending = false;
      if (n >= 3 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) p = 3;
    }
    const quotes = new NextByte(data, QUOTE);
    const lfs = new NextByte(data, LF);
    const crs = new NextByte(data, CR);
    while (p < n && !this.stopped) {
      const quote = quotes.from(p);
      const lf = lfs.from(p);
      const cr = crs.from(p);
      const brk = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
      if (quote !== -1 && (brk === -1 || quote < brk)) {
        const end = stretchEnd(data, p, quotes, lfs, crs, mode);
        if (end === -1) {
          if (mode === 'cut') {
            // Streamed, csv-parse would have read these bytes (and stopped on a bad quote in them).
            this.parseStretch(data, base, p, n, false);
            if (!this.stopped) this.parseStream(CUT_SENTINEL, false);
            p = n;
          }
          break;
        }
        this.parseStretch(data, base, p, end, true);
        p = end;
        continue;
      }
      if (brk === -1) {
        // A last line without a line break is a record at the end, not at a cut.
        if (mode === 'end') this.splitRecord(data, base, p, n, n);
        if (mode !== 'more') p = n;
        break;
      }
      let next = brk + 1;
      if (brk === cr) {
        // A CR ends a line on its own unless an LF follows: wait for the byte after it, unless none will come.
        if (brk + 1 >= n) {
          if (mode === 'more') break;
        } else if (data[brk + 1] === LF) next = brk + 2;
      }
      // An empty line is skipped, its line break counted (csv-parse's skip_empty_lines).
      if (brk > p) this.splitRecord(data, base, p, brk, next);
      this.lines += 1;
      p = next;
    }
    this.carry = data.subarray(p);
    this.carryStart = base + p;
  }

  /** A quote-free record `[start, contentEnd)` of `data`, its line break up to `end`. */
  private splitRecord(data: Buffer, base: number, start: number, contentEnd: number, end: number): void {
    this.onRecord(data.toString('utf8', start, contentEnd).split(','), base + start, base + end, true, true);
  }

  /** Records `[start, end)` of `data` (whole, each holding a quote, or the rest at a cut) read by csv-parse. */
  private parseStretch(data: Buffer, base: number, start: number, end: number, whole: boolean): void {
    this.parserBase = base + start;
    this.recordStart = base + start;
    this.emptyLines = this.api.info.empty_lines;
    this.runParser(data.subarray(start, end), whole);
  }

  private parseStream(buf: Buffer | undefined, end: boolean): void {
    this.runParser(buf, end);
  }

  /** One call of csv-parse; its line breaks are the range's. */
  private runParser(buf: Buffer | undefined, end: boolean): void {
    const before = this.api.info.lines;
    const linesAt = this.lines;
    const error = this.api.parse(buf, end, this.push, this.close) as
      | (Error & { code?: string; lines?: number })
      | undefined;
    this.lines = linesAt + (this.api.info.lines - before);
    if (error && !this.stopped) {
      this.stop({
        code: 'CSV_SYNTAX',
        message: parserProblem(error.message),
        line: linesAt + ((error.lines ?? this.api.info.lines) - before),
      });
    }
  }

  private stop(stop: RangeStop): void {
    this.stopped = true;
    this.result.stop = stop;
    this.result.lines = this.lines;
  }

  /** A record from csv-parse: where it lies, from `info.bytes` at the last record and at this one. */
  private parsedRecord(record: string[]): void {
    const info = this.api.info;
    const start = this.recordStart;
    const end = this.parserBase + info.bytes;
    // An empty line csv-parse skipped lies between the last record and this one: its bytes are not all its own.
    const adjacent = info.empty_lines === this.emptyLines;
    this.recordStart = end;
    this.emptyLines = info.empty_lines;
    this.onRecord(record, start, end, adjacent, false);
  }

  /**
   * A record, at `[start, end)` with its line break. `adjacent`: those bytes are the record's alone (no empty
   * line skipped before it); `quoteFree`: known to hold no quote.
   */
  private onRecord(
    record: string[],
    start: number,
    end: number,
    adjacent: boolean,
    quoteFree: boolean,
  ): void {
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
    const checker = this.checker!;
    const rowIssues = checker.check(record, result.rows);
    if (rowIssues) {
      result.invalidRows += 1;
      for (const e of rowIssues) {
        result.invalidByCode[e.code] = (result.invalidByCode[e.code] ?? 0) + 1;
        if (result.errors.length < MAX_LISTED_ERRORS) result.errors.push(e);
        result.rejects.push(e);
      }
      return;
    }
    checker.accept(result.identities);
    if (staging.verbatim && adjacent && checker.verbatim && (quoteFree || !this.fed.hasQuote(start, end)))
      this.stageAsRead(start, end);
    else {
      this.flushRun();
      this.staged.line(checker.line());
    }
  }

  /**
   * Stages the row at `[start, end)` as its bytes: its cells joined by commas, then its line break, which
   * becomes LF (a CRLF or a CR is the only other byte a quote-free record can end with, and a last row may
   * have none).
   */
  private stageAsRead(start: number, end: number): void {
    const last = this.fed.byteAt(end - 1);
    let content = end;
    if (last === LF) content = this.fed.byteAt(end - 2) === CR ? end - 2 : end - 1;
    else if (last === CR) content = end - 1;
    if (this.runEnd !== start) this.flushRun();
    if (this.runStart === this.runEnd) this.runStart = start;
    if (content === end - 1 && last === LF) {
      this.runEnd = end;
      return;
    }
    this.runEnd = content;
    this.flushRun();
    this.staged.byte(LF);
  }

  private flushRun(): void {
    if (this.runStart === this.runEnd) return;
    this.fed.pieces(this.runStart, this.runEnd, (chunk, from, to) => this.staged.copy(chunk, from, to));
    this.runStart = this.runEnd;
  }

  /** Whether any byte is more than whitespace; a UTF-8 BOM at the very start of a file is not content. */
  private noteContent(chunk: Buffer): void {
    const bom = this.atStart && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf ? 3 : 0;
    this.atStart = false;
    // A byte scan that stops at the first content byte (the first, most often), rather than a string of the
    // chunk (a worker's chunk is its whole slice) for a regular expression.
    for (let i = bom; i < chunk.length; i++) {
      if (!isWhitespaceByte(chunk[i]!)) {
        this.result.nonWhitespace = true;
        return;
      }
    }
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

/**
 * Whether a byte, read as latin1, is whitespace for `/\s/` (what this check was before it scanned bytes): tab to
 * CR, space, and latin1's no-break space (0xa0); 0x85 is not, for JavaScript.
 */
function isWhitespaceByte(byte: number): boolean {
  return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d) || byte === 0xa0;
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

/** The next position of one byte value in a buffer, from positions asked in increasing order (one scan). */
class NextByte {
  private at: number;

  constructor(
    private readonly data: Buffer,
    private readonly value: number,
  ) {
    this.at = data.indexOf(value);
  }

  from(position: number): number {
    if (this.at !== -1 && this.at < position) this.at = this.data.indexOf(this.value, position);
    return this.at;
  }
}

/**
 * Where csv-parse's stretch starting at `start` (a record holding a quote) ends: after the first line break
 * outside quotes, or after later ones while the record after holds a quote too (one call of csv-parse for a
 * file of quoted rows, not one per row). Outside quotes, as the record cutter reasons (record-cutter.ts), the
 * quotes before a position are even. -1: not known yet (`more`), or never (`cut`: the record is unfinished).
 */
function stretchEnd(
  data: Buffer,
  start: number,
  quotes: NextByte,
  lfs: NextByte,
  crs: NextByte,
  mode: 'more' | 'end' | 'cut',
): number {
  const n = data.length;
  const unfinished = mode === 'end' ? n : -1;
  let i = start;
  for (;;) {
    // The record's end: the first line break that no open quote hides.
    let brk: number;
    for (;;) {
      const quote = quotes.from(i);
      const lf = lfs.from(i);
      const cr = crs.from(i);
      brk = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
      if (quote === -1 || (brk !== -1 && brk < quote)) break;
      // A quoted stretch: to the quote that closes it (a doubled quote closes and reopens it).
      const closing = quotes.from(quote + 1);
      if (closing === -1) return unfinished;
      i = closing + 1;
    }
    if (brk === -1) return unfinished;
    let next = brk + 1;
    if (data[brk] === CR) {
      if (brk + 1 >= n) {
        if (mode === 'more') return -1;
      } else if (data[brk + 1] === LF) next = brk + 2;
    }
    // The next record joins the stretch when it holds a quote too.
    const quote = quotes.from(next);
    if (quote === -1) return next;
    const lf = lfs.from(next);
    const cr = crs.from(next);
    const nextBrk = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
    if (nextBrk !== -1 && nextBrk < quote) return next;
    if (nextBrk === -1 && mode === 'more') return next;
    i = next;
  }
}
