// The validation benchmark: the engine end to end against bare csv-parse, one thread against worker threads,
// the coordinator's own cost, memory per worker, and gzip input, all on the same file in one run.
//
// Input: a realistic customer CSV (scripts/customer-rows.ts) of BENCH_MB megabytes (default 210) with a
// sprinkling of bad rows (an invalid email every 1,009th row, a missing cell every 10,007th), generated once by
// streaming into .local/bench/ and reused after, with its gzip copy (zlib level 6) beside it.
// Each measurement runs in its own child process (this file with `--measure <name> <file>`), so the peak RSS
// printed (process.resourceUsage().maxRSS, every thread of the process) is that measurement's alone; each is
// repeated BENCH_REPEAT times (default 2, alternating) and the best run is kept, the machine being shared. Each
// first runs once, untimed, over the file's first 4 MiB (compiled code, as in a Lambda that has run before), and
// prints its CPU seconds too (process.cpuUsage: every thread), which the machine's other load moves less than
// the wall time: a run by ranges that costs no more CPU than one pass would scale with the cores.
//   baseline:    csv-parse with the engine's options, arrays, rows counted in a 'data' handler, nothing checked.
//   sequential:  validateCsv end to end, one thread (UTF-8 check, parse, header and row checks, type inference,
//                identity normalization, staged-copy and rejects.csv writing), outputs to a null sink (a
//                Writable that drops what it gets): the figure is the engine, not the disk.
//   sequential-quoted: the same rows with every field quoted (generated once beside the file), one thread: the
//                slowest common form, where csv-parse reads every record (lib/validation-model.ts judges limits
//                by it).
//   workers:     the same file by ranges on BENCH_WORKERS (default 2) worker threads, started and warmed (one
//                tiny range each) before the clock starts; their start-up is timed on its own.
//   coordinator: what the reading thread does when ranges are parsed elsewhere, alone: the same run with a
//                pool that answers each slice at once with its result, recorded beforehand by a one-thread run
//                of the same slices. Reading, quote-parity cutting, slice copies, the ordered merge and the
//                output writes are timed; no parsing. Its time over the sequential time is the share of a
//                core the merge takes, which caps the speed-up.
// The engine reads the file in 1 MiB reads (READ_BYTES).
//   gzip-1, gzip-N: the .csv.gz, one thread, then N workers (the coordinator decompresses and cuts).
// Per worker, the workers run also samples each worker's memory (worker.getHeapStatistics every 50 ms: its V8
// heap and the external memory it holds, the slice and its staged copy); the process's peak RSS over the
// workers is the upper bound (it charges them the reading thread, the slices in flight and Node itself).
import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable, Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import { parse } from 'csv-parse';
import { type EngineOptions, validateSources } from '../functions/validate-file/engine/engine.ts';
import { identityTable } from '../functions/validate-file/engine/identities.ts';
import type { RangeJob } from '../functions/validate-file/engine/range-worker.ts';
import { csvParseOptions, type RangeResult } from '../functions/validate-file/engine/record-range.ts';
import { InlinePool, type RangePool, ThreadPool } from '../functions/validate-file/engine/thread-pool.ts';
import { CUSTOMER_HEADER, customerRows } from '../scripts/customer-rows.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const MB = 1024 * 1024;
/**
 * The engine's input arrives in reads of this size: ValidateLargeFile's ranged GETs are 8 MiB, and 64 KiB reads
 * (fs's default) cost the reading thread twice as much as 1 MiB ones, for every run alike.
 */
const READ_BYTES = MB;

interface Measurement {
  name: string;
  seconds: number;
  /** CSV bytes (decompressed for gzip). */
  bytes: number;
  rows: number;
  maxRssBytes: number;
  /** CPU seconds of the whole process (every thread, user + system) over `seconds`. */
  cpuSeconds: number;
  workers: number;
  /** Starting the workers and a first tiny range on each, outside `seconds`. */
  startupSeconds?: number;
  /** The reading thread's event-loop utilization during `seconds` (1: never idle). */
  coordinatorBusy?: number;
  /** The most memory any worker's isolate held, sampled: its V8 heap (total_heap_size) and external memory. */
  workerHeapPeakBytes?: number;
}

/** Writes (once) `.local/bench/customers-<mb>mb.csv`, streaming with backpressure; returns its path. */
export async function benchFile(megabytes: number): Promise<string> {
  const dir = path.join(ROOT, '.local/bench');
  const file = path.join(dir, `customers-${megabytes}mb.csv`);
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  const partial = `${file}.partial`;
  const out = createWriteStream(partial);
  const generator = customerRows();
  const target = megabytes * MB;
  let written = 0;
  let batch = `${CUSTOMER_HEADER}\n`;
  for (let i = 1; written + batch.length < target; i++) {
    let row = generator.row(i);
    if (i % 1009 === 0) row = row.replace(/^[^,]*@/, 'not-an-email-');
    if (i % 10007 === 0) row = row.slice(0, row.lastIndexOf(','));
    batch += `${row}\n`;
    if (batch.length > 1 * MB) {
      written += Buffer.byteLength(batch);
      if (!out.write(batch)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      batch = '';
    }
  }
  out.end(batch);
  await finished(out);
  renameSync(partial, file);
  return file;
}

/** The same rows with every field quoted (written once beside it): all of them read by csv-parse. */
async function quotedFile(file: string): Promise<string> {
  const quoted = file.replace(/\.csv$/, '-quoted.csv');
  if (existsSync(quoted)) return quoted;
  const out = createWriteStream(`${quoted}.partial`);
  const quote = (line: string) =>
    line
      .match(/("([^"]|"")*"|[^,]*)(,|$)/g)!
      .filter((cell) => cell !== '')
      .map((cell) => {
        const value = cell.replace(/,$/, '');
        return value.startsWith('"') ? value : `"${value}"`;
      })
      .join(',');
  let batch = '';
  let rest = '';
  for await (const chunk of createReadStream(file, { encoding: 'utf8' })) {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    for (const line of lines) batch += `${quote(line)}\n`;
    if (batch.length > MB) {
      if (!out.write(batch)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      batch = '';
    }
  }
  out.end(rest ? `${batch}${quote(rest)}\n` : batch);
  await finished(out);
  renameSync(`${quoted}.partial`, quoted);
  return quoted;
}

/** The gzip copy of `file` (written once beside it). */
async function gzipFile(file: string): Promise<string> {
  const gz = `${file}.gz`;
  if (existsSync(gz)) return gz;
  await pipeline(createReadStream(file), createGzip({ level: 6 }), createWriteStream(`${gz}.partial`));
  renameSync(`${gz}.partial`, gz);
  return gz;
}

const nullSink = () =>
  new Writable({
    write(_chunk, _encoding, done) {
      done();
    },
  });

const engineOptions = (): EngineOptions => ({
  identityHeaders: identityTable({ crmid: 'CRMID' }),
  maxInvalidRowsPercent: 1,
  staged: nullSink(),
  rejects: nullSink(),
});

async function engineRun(file: string, options: Partial<EngineOptions>): Promise<{ rows: number }> {
  const gzip = file.endsWith('.gz');
  const result = await validateSources(
    [
      {
        name: file,
        gzip,
        size: statSync(file).size,
        open: () => createReadStream(file, { highWaterMark: READ_BYTES }),
      },
    ],
    { ...engineOptions(), ...options },
  );
  if (!result.valid) throw new Error(`the bench file was refused: ${result.failure?.message}`);
  return { rows: result.rows };
}

const benchWorkers = () => Math.max(2, Number(process.env.BENCH_WORKERS ?? 2));

/** A started pool whose workers have each parsed a tiny range (modules loaded, code warm), and how long it took. */
async function warmPool(size: number, file: string): Promise<{ pool: ThreadPool; startupSeconds: number }> {
  const started = performance.now();
  const pool = new ThreadPool(size);
  const job: RangeJob = {
    header: CUSTOMER_HEADER.split(','),
    settings: { identityHeaders: engineOptions().identityHeaders },
  };
  const row = Buffer.from(`${customerRows().row(1)}\n`);
  await Promise.all(Array.from({ length: size }, () => pool.run(Buffer.from(row), job)));
  const startupSeconds = (performance.now() - started) / 1000;
  // Then warm, as a pool kept across invocations is: each worker parses the file's first rows once.
  const rows = (await warmUpBytes(file)).subarray(CUSTOMER_HEADER.length + 1);
  await Promise.all(Array.from({ length: size }, () => pool.run(Buffer.from(rows), job)));
  return { pool, startupSeconds };
}

/**
 * The first WARM_UP_BYTES of a file, cut after a line break. Every measurement first runs over them once,
 * untimed: the code is then compiled as it is in a Lambda that has validated a file before (and a pool's
 * workers, each an isolate of its own, would otherwise each pay it inside the timing).
 */
const WARM_UP_BYTES = 4 * MB;
async function warmUpBytes(file: string): Promise<Buffer> {
  const handle = await open(file);
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(WARM_UP_BYTES), 0, WARM_UP_BYTES, 0);
    return buffer.subarray(0, buffer.lastIndexOf(10, bytesRead - 1) + 1);
  } finally {
    await handle.close();
  }
}

async function warmEngine(file: string): Promise<void> {
  const bytes = await warmUpBytes(file.replace(/\.gz$/, ''));
  await validateSources(
    [{ name: 'warm-up', gzip: false, open: () => Readable.from([bytes]) }],
    engineOptions(),
  );
}

/** Samples the workers' memory until stopped; the most any one held (V8 heap and external memory). */
function sampleHeaps(pool: ThreadPool): () => Promise<number> {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const stats of await pool.heapStatistics())
        peak = Math.max(peak, stats.total_heap_size + stats.external_memory);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return async () => {
    running = false;
    await loop;
    return peak;
  };
}

/** Answers each slice with the result a one-thread run recorded for it, in the same order: no parsing. */
class ReplayPool implements RangePool {
  constructor(
    readonly size: number,
    private readonly results: RangeResult[],
  ) {}
  async run(): Promise<RangeResult> {
    const result = this.results.shift();
    if (!result) throw new Error('the replay ran out of recorded results');
    return result;
  }
  async close(): Promise<void> {}
}

/**
 * Records the results of the slices as it parses them in this thread. It has the size of the pool it stands in
 * for: the engine cuts the end of a file by the pool's size, so the slices are the ones that pool would get.
 */
class RecordingPool implements RangePool {
  readonly results: RangeResult[] = [];
  private readonly inline = new InlinePool();
  constructor(readonly size: number) {}
  async run(slice: Buffer, job: RangeJob): Promise<RangeResult> {
    const result = await this.inline.run(slice, job);
    this.results.push(result);
    return result;
  }
  async close(): Promise<void> {}
}

type Measure = (
  file: string,
) => Promise<Omit<Measurement, 'name' | 'seconds' | 'bytes' | 'maxRssBytes' | 'cpuSeconds'>>;

/** Times `body` alone, with the reading thread's event-loop utilization over the same span. */
async function timed<T>(body: () => Promise<T>): Promise<{ value: T; busy: number }> {
  const elu = performance.eventLoopUtilization();
  const started = performance.now();
  const cpu = cpuNow();
  const value = await body();
  measured = { seconds: (performance.now() - started) / 1000, cpuSeconds: cpuNow() - cpu };
  return { value, busy: performance.eventLoopUtilization(elu).utilization };
}

/** The timed span of a measurement that has set-up to leave out (a pool's start, a recording run). */
let measured: { seconds: number; cpuSeconds: number } | undefined;
const cpuNow = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

const measures: Record<string, Measure> = {
  async baseline(file) {
    const count = async (input: Readable) => {
      const parser = input.pipe(parse(csvParseOptions(true)));
      let rows = -1; // the header is not a row
      parser.on('data', () => {
        rows += 1;
      });
      await finished(parser);
      return rows;
    };
    await count(Readable.from([await warmUpBytes(file)]));
    const run = await timed(() => count(createReadStream(file, { highWaterMark: READ_BYTES })));
    return { rows: run.value, workers: 1 };
  },
  async sequential(file) {
    await warmEngine(file);
    const run = await timed(() => engineRun(file, { workers: 1 }));
    return { rows: run.value.rows, workers: 1 };
  },
  async 'sequential-quoted'(file) {
    const quoted = await quotedFile(file);
    await warmEngine(quoted);
    const run = await timed(() => engineRun(quoted, { workers: 1 }));
    return { rows: run.value.rows, workers: 1 };
  },
  async workers(file) {
    return withWorkers(file);
  },
  async coordinator(file) {
    const workers = benchWorkers();
    const recording = new RecordingPool(workers);
    await engineRun(file, { workers, pool: recording });
    const replay = new ReplayPool(workers, recording.results);
    const run = await timed(() => engineRun(file, { workers, pool: replay }));
    return { rows: run.value.rows, workers, coordinatorBusy: run.busy };
  },
  async 'gzip-1'(file) {
    await warmEngine(file);
    const run = await timed(async () => engineRun(await gzipFile(file), { workers: 1 }));
    return { rows: run.value.rows, workers: 1 };
  },
  async 'gzip-N'(file) {
    return withWorkers(await gzipFile(file));
  },
};

async function withWorkers(file: string) {
  const workers = benchWorkers();
  const { pool, startupSeconds } = await warmPool(workers, file.replace(/\.gz$/, ''));
  const stopSampling = sampleHeaps(pool);
  try {
    const run = await timed(() => engineRun(file, { workers, pool }));
    return {
      rows: run.value.rows,
      workers,
      startupSeconds,
      coordinatorBusy: run.busy,
      workerHeapPeakBytes: await stopSampling(),
    };
  } finally {
    await pool.close();
  }
}

/** In the child: one measurement, printed as a JSON line. */
async function measure(name: string, file: string): Promise<void> {
  const started = performance.now();
  const cpu = cpuNow();
  measured = undefined;
  const figures = await measures[name]!(file);
  const span = measured ?? { seconds: (performance.now() - started) / 1000, cpuSeconds: cpuNow() - cpu };
  const result: Measurement = {
    name,
    ...span,
    bytes: statSync(file).size,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    ...figures,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

async function inChild(name: string, file: string): Promise<Measurement> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), '--measure', name, file],
    { cwd: ROOT, maxBuffer: MB },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Measurement;
}

const mb = (bytes: number) => `${(bytes / MB).toFixed(0)} MB`;
const rate = (m: Measurement) => `${(m.bytes / MB / m.seconds).toFixed(1).padStart(6)} MB/s`;

export async function run(): Promise<void> {
  const megabytes = Number(process.env.BENCH_MB ?? 210);
  const repeat = Number(process.env.BENCH_REPEAT ?? 2);
  const only = process.env.BENCH_ONLY?.split(',');
  const file = await benchFile(megabytes);
  await gzipFile(file);
  const quoted = await quotedFile(file);
  const size = statSync(file).size;
  const workers = benchWorkers();
  console.log(
    `input: ${path.relative(ROOT, file)} (${(size / MB).toFixed(1)} MB; gzip ${(statSync(`${file}.gz`).size / MB).toFixed(1)} MB), ${workers} workers, best of ${repeat}, each in its own process`,
  );
  const best: Record<string, Measurement> = {};
  for (let i = 0; i < repeat; i++) {
    for (const name of Object.keys(measures)) {
      if (only && !only.includes(name)) continue;
      const m = await inChild(name, file);
      m.bytes = name === 'sequential-quoted' ? statSync(quoted).size : size;
      const kept = best[name];
      if (!kept || m.seconds < kept.seconds) best[name] = m;
    }
  }
  const line = (label: string, m: Measurement | undefined, extra = '') => {
    if (!m) return;
    console.log(
      `${label.padEnd(22)} ${rate(m)}  ${m.rows.toLocaleString('en-US')} rows in ${m.seconds.toFixed(2)} s (CPU ${m.cpuSeconds.toFixed(2)} s)  peak RSS ${mb(m.maxRssBytes)}${extra}`,
    );
  };
  const { baseline, sequential, coordinator } = best;
  const parallel = best.workers;
  const gzip1 = best['gzip-1'];
  const gzipN = best['gzip-N'];
  line('baseline (csv-parse)', baseline);
  line('engine, 1 thread', sequential);
  line('  every field quoted', best['sequential-quoted']);
  line(
    `engine, ${workers} workers`,
    parallel,
    parallel &&
      `  (start-up ${parallel.startupSeconds?.toFixed(2)} s apart; reading thread busy ${pct(parallel.coordinatorBusy)})`,
  );
  line(
    'coordinator alone',
    coordinator,
    coordinator && `  (reading thread busy ${pct(coordinator.coordinatorBusy)})`,
  );
  line('gzip, 1 thread', gzip1);
  line(`gzip, ${workers} workers`, gzipN, gzipN && `  (reading thread busy ${pct(gzipN.coordinatorBusy)})`);
  const ratio = (a: Measurement | undefined, b: Measurement | undefined) =>
    a && b ? (a.seconds / b.seconds).toFixed(2) : 'n/a';
  console.log(`ratio engine/baseline (1 thread): ${ratio(baseline, sequential)}   goal ≥ 0.8`);
  console.log(`speed-up ${workers} workers / 1 thread: ${ratio(sequential, parallel)}×   goal ≥ 1.7×`);
  if (sequential && parallel)
    console.log(
      `  CPU of ${workers} workers / 1 thread: ${(parallel.cpuSeconds / sequential.cpuSeconds).toFixed(2)} (the work ranges add; on ${workers} idle cores the speed-up is at most ${((workers * sequential.cpuSeconds) / parallel.cpuSeconds).toFixed(2)}×)`,
    );
  if (coordinator && sequential)
    console.log(
      `merge (coordinator alone): ${((coordinator.seconds / sequential.seconds) * 100).toFixed(1)}% of the one-thread time, ${((coordinator.seconds * 1000) / (size / MB)).toFixed(1)} ms per MB`,
    );
  if (parallel)
    console.log(
      `memory per worker: ${mb(parallel.workerHeapPeakBytes ?? 0)} (its V8 heap + external, the most any worker held); at most ${mb(parallel.maxRssBytes / workers)} (the process's peak RSS / ${workers}, the reading thread and Node included)   goal < 200 MB`,
    );
  console.log(`gzip speed-up ${workers} workers / 1 thread: ${ratio(gzip1, gzipN)}×`);
}

const pct = (share: number | undefined) => (share === undefined ? 'n/a' : `${(share * 100).toFixed(0)}%`);

if (
  process.argv[1] &&
  import.meta.url === pathToFileURL(process.argv[1]).href &&
  process.argv[2] === '--measure'
) {
  await measure(process.argv[3]!, process.argv[4]!);
}
