// The validation engine (docs/contracts.md#validation-rules-and-codes): reads one CSV, a gzip file, or the
// parts of a folder drop as one stream per part, checks every row, and writes the canonical staged copy and
// the rejects as it goes. No AWS: the caller opens the inputs and keeps or drops the outputs.
//
// One thread (`workers: 1`): each part is one range, parsed as it streams. More workers: the reading thread
// cuts each part into record-aligned slices (record-cutter.ts), worker threads parse them (thread-pool.ts),
// and the results are merged in file order (merge.ts), so that the answer is the one a single pass gives,
// byte for byte in the staged copy and rejects.
import type { Readable, Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import {
  buildColumns,
  type Column,
  type HeaderIssue,
  type HeaderSettings,
  headerIssues,
  headerNames,
  type ValidationIssue,
} from './columns.ts';
import { csvLine } from './csv-writer.ts';
import { type EngineResult, type MergeSettings, ResultMerger, rebase } from './merge.ts';
import { RecordCutter } from './record-cutter.ts';
import { type RangeResult, RecordRange } from './record-range.ts';
import { InlinePool, type RangePool, ThreadPool } from './thread-pool.ts';

export type { EngineResult } from './merge.ts';

/**
 * Slices handed to workers: big enough that a slice's fixed costs vanish (a message each way, a csv-parse set-up),
 * small enough to bound memory and the last slice's tail. Measured here on 2 cores (bench/validation.ts): 8 MiB
 * slices cost twice the page faults of 4 MiB ones (each slice and its staged copy are fresh allocations), and no
 * less CPU otherwise.
 */
export const DEFAULT_SPLIT_BYTES = 4 * 1024 * 1024;
/** The smallest slice the end of a file is cut into (see `sliceBytes`). */
const TAIL_SLICE_BYTES = 256 * 1024;

export interface CsvSource {
  /** The key or path, named in a folder drop's reports. */
  name: string;
  /** gzip-compressed: decompressed as it streams (the limits count decompressed bytes). */
  gzip: boolean;
  /** The stored size, when known before reading (S3 HEAD, fs.stat); compressed for gzip. */
  size?: number | undefined;
  open(): Readable | Promise<Readable>;
}

export interface EngineOptions extends HeaderSettings, MergeSettings {
  maxFileSizeBytes?: number | undefined;
  /** Receives the canonical copy: UTF-8, no BOM, `\n`, trimmed headers, normalized identities, good rows only. */
  staged?: Writable | undefined;
  /** Receives `row,column,code,message` lines (values masked). */
  rejects?: Writable | undefined;
  /** Threads that parse; 1 parses in the reading thread. */
  workers?: number | undefined;
  /** Slice size when ranges are used (workers > 1, or to force ranges in one thread). */
  splitBytes?: number | undefined;
  /** The sources are the parts of a folder drop: per-part figures, each issue names its part. */
  folder?: boolean | undefined;
  /** Workers to use instead of starting some (kept warm across invocations by the caller). */
  pool?: RangePool | undefined;
}

/** One step of the ordered merge: a range's result, and what must be applied just before it. */
interface Step {
  result: RangeResult | Promise<RangeResult>;
  before?: () => boolean;
}

export async function validateSources(sources: CsvSource[], options: EngineOptions): Promise<EngineResult> {
  const merger = new ResultMerger(options);
  if (options.folder) merger.trackParts();
  const max = options.maxFileSizeBytes;
  const knownBytes = sources.reduce((sum, s) => sum + (s.gzip ? 0 : (s.size ?? 0)), 0);
  if (max !== undefined && knownBytes > max) {
    merger.fileIssue({
      row: null,
      column: null,
      code: 'FILE_TOO_LARGE',
      message: `the file is ${knownBytes} bytes, over the maximum of ${max}`,
    });
    return merger.finish(false, { contentChecks: false });
  }

  const staged = new OrderedOutput(options.staged);
  const rejects = new OrderedOutput(options.rejects);
  const workers = Math.max(1, options.workers ?? 1);
  const ranged = workers > 1 || options.splitBytes !== undefined;
  const pool = ranged
    ? (options.pool ?? (workers > 1 ? new ThreadPool(workers) : new InlinePool()))
    : undefined;
  const splitBytes = Math.max(1, options.splitBytes ?? DEFAULT_SPLIT_BYTES);
  let firstHeader: { names: string[]; part: string } | undefined;
  let sawHeader = false;
  let decompressed = 0;

  /** The header check of a part: its issues, and the columns rows are checked with (none: stop). */
  const readHeader = (record: string[], part: string): { columns?: Column[]; issues: HeaderIssue[] } => {
    sawHeader = true;
    const names = headerNames(record);
    if (!firstHeader) {
      const issues = headerIssues(record, options);
      firstHeader = { names, part };
      return issues.length > 0 ? { issues } : { columns: buildColumns(names, options), issues };
    }
    if (names.length === firstHeader.names.length && names.every((n, i) => n === firstHeader!.names[i]))
      return { columns: buildColumns(names, options), issues: [] };
    return {
      issues: [
        {
          row: null,
          column: null,
          code: 'PART_HEADER_MISMATCH',
          message: `the header of ${part} (${names.length} columns) differs from the header of ${firstHeader.part}, the first part (${firstHeader.names.length} columns); every part must carry the same header`,
        },
      ],
    };
  };
  /** Applies a part's start and header check to the merge, in file order; false when the file stops there. */
  const applyHeader = (part: string, header: { columns?: Column[]; issues: HeaderIssue[] } | undefined) => {
    merger.startPart(part);
    merger.resetLines();
    if (!header) return true;
    for (const issue of header.issues) merger.fileIssue(issue);
    if (header.columns && !merger.hasColumns) {
      merger.setColumns(header.columns);
      staged.write(csvLine(header.columns.map((c) => c.name)));
    }
    return !merger.stopped;
  };
  const merge = async (result: RangeResult) => {
    const rowOffset = merger.add(result);
    // A range that stops the file still wrote the rows before its stop, as a single pass does.
    staged.write(result.staged);
    rejects.writeRejects(result.rejects, rowOffset);
    await Promise.all([staged.drained(), rejects.drained()]);
  };

  const steps: Step[] = [];
  const settleOne = async () => {
    const step = steps.shift()!;
    const result = await step.result;
    if (merger.stopped) return;
    // A header that stops the file still counts its range's bytes (an empty file is not a bad header).
    if (step.before && !step.before()) merger.add(result);
    else await merge(result);
  };

  try {
    for (const source of sources) {
      if (merger.stopped) break;
      const input = await source.open();
      const stream = source.gzip ? input.pipe(createGunzip()) : input;
      if (source.gzip) input.once('error', (error) => stream.destroy(error));
      let tooLarge = false;
      /** The chunk as far as the size limit allows (gzip: decompressed bytes, counted as they come). */
      const bounded = (chunk: Buffer): Buffer => {
        if (max === undefined) return chunk;
        const room = max - decompressed;
        decompressed += chunk.length;
        if (chunk.length <= room) return chunk;
        tooLarge = true;
        return chunk.subarray(0, Math.max(0, room));
      };
      let header: { columns?: Column[]; issues: HeaderIssue[] } | undefined;
      const headerRange = new RecordRange({
        atStartOfFile: true,
        onHeader: (record) => {
          header = readHeader(record, source.name);
          return header.columns;
        },
      });
      let readError: Error | undefined;

      if (!pool) {
        // One range for the whole part, fed as it streams; outputs written as they fill.
        const rowOffset = merger.rows;
        let applied: boolean | undefined;
        const applyOnce = () => {
          applied ??= applyHeader(source.name, header);
          return applied;
        };
        try {
          for await (const chunk of stream) {
            headerRange.write(bounded(chunk as Buffer));
            if (header && !applyOnce()) break;
            staged.write(headerRange.takeStaged());
            rejects.writeRejects(headerRange.takeRejects(), rowOffset);
            await Promise.all([staged.drained(), rejects.drained()]);
            if (headerRange.done || tooLarge) break;
          }
        } catch (error) {
          readError = error as Error;
        }
        const result = headerRange.end({ flush: !tooLarge && !readError });
        if (!applyOnce()) {
          merger.add(result);
          break;
        }
        await merge(result);
      } else {
        const cutter = new RecordCutter(1);
        const reader = stream[Symbol.asyncIterator]();
        const nextChunk = async (): Promise<Buffer | undefined> => {
          if (tooLarge || readError) return undefined;
          try {
            const { value, done } = await reader.next();
            return done ? undefined : bounded(value as Buffer);
          } catch (error) {
            readError = error as Error;
            return undefined;
          }
        };
        // The header, record by record, in this thread: it decides the columns every slice is checked with.
        let ended = false;
        while (!header && !headerRange.done) {
          const slice = cutter.next();
          if (slice) {
            headerRange.write(slice);
            continue;
          }
          const chunk = await nextChunk();
          if (chunk === undefined) {
            ended = true;
            for (const rest of tooLarge || readError ? drainComplete(cutter) : cutter.end())
              headerRange.write(rest);
            break;
          }
          cutter.add(chunk);
        }
        // Its slices are whole records, even when the stream was cut short: csv-parse may still hold the
        // last one, waiting to see whether a line break is a CRLF.
        const headerResult = headerRange.end();
        const partHeader = header;
        steps.push({ result: headerResult, before: () => applyHeader(source.name, partHeader) });
        const job = partHeader?.columns
          ? { header: partHeader.columns.map((c) => c.name), settings: settingsOf(options) }
          : undefined;
        if (job && !ended) {
          let dispatched = 0;
          // Near the end of a file of known size, smaller slices: the workers then finish together, rather than
          // one parsing the last big slice alone (guided self-scheduling: a quarter of each worker's share left).
          const sliceBytes = () => {
            const size = source.gzip ? undefined : source.size;
            if (size === undefined) return splitBytes;
            const share = Math.floor((size - dispatched) / (pool.size * 4));
            return Math.min(splitBytes, Math.max(TAIL_SLICE_BYTES, share));
          };
          cutter.setMinBytes(sliceBytes());
          const dispatch = async (slice: Buffer) => {
            while (steps.length >= pool.size * 2) await settleOne();
            if (merger.stopped) return;
            dispatched += slice.length;
            steps.push({ result: pool.run(slice, job) });
          };
          for (let chunk = await nextChunk(); chunk !== undefined; chunk = await nextChunk()) {
            cutter.setMinBytes(sliceBytes());
            for (const slice of cutter.push(chunk)) await dispatch(slice);
            if (merger.stopped) break;
          }
          const rest = tooLarge || readError ? drainComplete(cutter) : cutter.end();
          for (const slice of rest) await dispatch(slice);
        }
        // A part's ranges merge before the next part's header: the order is the file's.
        while (steps.length > 0) await settleOne();
        stream.destroy();
      }
      stream.destroy();
      if (readError && !merger.stopped) {
        merger.fileIssue({
          row: null,
          column: null,
          code: source.gzip ? 'INVALID_GZIP' : 'READ_FAILED',
          message: source.gzip
            ? `${source.name} is not a complete gzip file: ${readError.message}`
            : `${source.name} could not be read: ${readError.message}`,
        });
        if (!source.gzip) throw readError;
      }
      if (tooLarge && !merger.stopped) {
        merger.fileIssue({
          row: null,
          column: null,
          code: 'FILE_TOO_LARGE',
          message: `the file holds more than ${max} bytes of CSV once decompressed, over the maximum of ${max}`,
        });
      }
    }
    while (steps.length > 0) await settleOne();
    await Promise.all([staged.flush(), rejects.flush()]);
  } finally {
    if (pool && pool !== options.pool) await pool.close();
  }
  return merger.finish(sawHeader);
}

/** One stream, one thread: the engine as ValidateFile's small function and `validate --workers 1` run it. */
export function validateCsv(
  input: Readable,
  options: EngineOptions & { sizeBytes?: number | undefined },
): Promise<EngineResult> {
  return validateSources(
    [{ name: 'file', gzip: false, size: options.sizeBytes, open: () => input }],
    options,
  );
}

/**
 * The complete records still held by a cutter whose stream was cut short (the rest is a partial record); a CR
 * at the cut ends a line, as it does for a single pass (record-range.ts, `cutHere`).
 */
function drainComplete(cutter: RecordCutter): Buffer[] {
  cutter.setMinBytes(1);
  const slices: Buffer[] = [];
  for (let slice = cutter.next(true); slice; slice = cutter.next(true)) slices.push(slice);
  return slices;
}

/** What a worker needs to build the columns: plain data. */
function settingsOf(options: EngineOptions): HeaderSettings {
  return {
    manifest: options.manifest,
    identityHeaders: options.identityHeaders,
    hashIdentities: options.hashIdentities,
  };
}

/**
 * Bytes for a stream, gathered and written in batches of about 64 KB (one stream write per row costs more than
 * the checks themselves), with the stream's backpressure honoured. A big piece (a slice's staged copy) is
 * written as it is, not copied into a batch.
 */
class OrderedOutput {
  private pieces: Uint8Array[] = [];
  private size = 0;
  private text = '';

  constructor(private readonly stream: Writable | undefined) {}

  write(bytes: Uint8Array | string): void {
    if (!this.stream) return;
    if (typeof bytes === 'string') {
      this.text += bytes;
      return;
    }
    if (bytes.byteLength === 0) return;
    this.endText();
    this.pieces.push(bytes);
    this.size += bytes.byteLength;
  }

  /** rejects.csv lines, with the file's row numbers (a range counts its rows from 1). */
  writeRejects(issues: ValidationIssue[], rowOffset: number): void {
    if (!this.stream) return;
    for (const issue of issues) {
      const e = rebase(issue, rowOffset);
      this.text += csvLine([String(e.row), e.column ?? '', e.code, e.message]);
    }
  }

  /** Writes once the batch is big enough; resolves when the stream can take more. */
  drained(): Promise<void> | undefined {
    return this.size + this.text.length >= 64 * 1024 ? this.flush() : undefined;
  }

  flush(): Promise<void> | undefined {
    const stream = this.stream;
    this.endText();
    if (!stream || this.size === 0) return undefined;
    const pieces = this.pieces;
    const batch = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, this.size);
    this.pieces = [];
    this.size = 0;
    if (stream.write(batch)) return undefined;
    return new Promise<void>((resolve) => {
      const go = () => {
        stream.off('drain', go);
        stream.off('close', go);
        resolve();
      };
      stream.on('drain', go);
      stream.on('close', go);
    });
  }

  private endText(): void {
    if (this.text === '') return;
    const bytes = Buffer.from(this.text);
    this.text = '';
    this.pieces.push(bytes);
    this.size += bytes.byteLength;
  }
}
