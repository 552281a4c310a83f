// The validation benchmark: the engine end to end against bare csv-parse on the same file.
//
// Input: a realistic customer CSV (scripts/customer-rows.ts) of BENCH_MB megabytes (default 210) with a
// sprinkling of bad rows (an invalid email every 1,009th row, a missing cell every 10,007th), generated once by
// streaming into .local/bench/ and reused after.
// Each measurement runs in its own child process (this file with `--measure <name> <file>`), so the peak RSS
// printed (process.resourceUsage().maxRSS) is that measurement's alone; each is repeated BENCH_REPEAT times
// (default 2, alternating) and the best run is kept, the machine being shared.
//   baseline: csv-parse with the engine's options, arrays, rows counted in a 'data' handler, nothing checked.
//   engine:   validateCsv end to end (UTF-8 check, parse, header and row checks, type inference, identity
//             normalization, staged-copy and rejects.csv writing) with the staged copy and the rejects going to
//             a null sink (a Writable that drops what it gets): the figure is the engine, not the disk.
import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'csv-parse';
import { validateCsv } from '../functions/validate-file/engine/engine.ts';
import { identityTable } from '../functions/validate-file/engine/identities.ts';
import { csvParseOptions } from '../functions/validate-file/engine/record-range.ts';
import { CUSTOMER_HEADER, customerRows } from '../scripts/customer-rows.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const MB = 1024 * 1024;

interface Measurement {
  name: string;
  seconds: number;
  bytes: number;
  rows: number;
  maxRssBytes: number;
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

async function baseline(file: string): Promise<{ rows: number }> {
  const parser = createReadStream(file).pipe(parse(csvParseOptions(true)));
  let rows = -1; // the header is not a row
  parser.on('data', () => {
    rows += 1;
  });
  await finished(parser);
  return { rows };
}

async function engine(file: string): Promise<{ rows: number }> {
  const nullSink = () =>
    new Writable({
      write(_chunk, _encoding, done) {
        done();
      },
    });
  const result = await validateCsv(createReadStream(file), {
    identityHeaders: identityTable({ crmid: 'CRMID' }),
    maxInvalidRowsPercent: 1,
    sizeBytes: statSync(file).size,
    staged: nullSink(),
    rejects: nullSink(),
  });
  if (!result.valid) throw new Error(`the bench file was refused: ${result.failure?.message}`);
  return { rows: result.rows };
}

const measures = { baseline, engine };

/** In the child: one measurement, printed as a JSON line. */
async function measure(name: keyof typeof measures, file: string): Promise<void> {
  const started = process.hrtime.bigint();
  const { rows } = await measures[name](file);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const result: Measurement = {
    name,
    seconds,
    bytes: statSync(file).size,
    rows,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
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

export async function run(): Promise<void> {
  const megabytes = Number(process.env.BENCH_MB ?? 210);
  const repeat = Number(process.env.BENCH_REPEAT ?? 2);
  const file = await benchFile(megabytes);
  const size = statSync(file).size;
  console.log(`input: ${path.relative(ROOT, file)} (${(size / MB).toFixed(1)} MB)`);
  const best: Partial<Record<keyof typeof measures, Measurement>> = {};
  for (let i = 0; i < repeat; i++) {
    for (const name of Object.keys(measures) as (keyof typeof measures)[]) {
      const m = await inChild(name, file);
      if (!best[name] || m.seconds < best[name].seconds) best[name] = m;
    }
  }
  const line = (m: Measurement) =>
    `${m.name.padEnd(9)} ${(m.bytes / MB / m.seconds).toFixed(1).padStart(6)} MB/s  ${Math.round(
      m.rows / m.seconds,
    )
      .toLocaleString('en-US')
      .padStart(
        9,
      )} rows/s  ${m.rows.toLocaleString('en-US')} rows in ${m.seconds.toFixed(2)} s  peak RSS ${(m.maxRssBytes / MB).toFixed(0)} MB`;
  console.log(line(best.baseline!));
  console.log(line(best.engine!));
  console.log(
    `ratio engine/baseline: ${(best.baseline!.seconds / best.engine!.seconds).toFixed(2)} (best of ${repeat}, each in its own process)`,
  );
}

if (
  process.argv[1] &&
  import.meta.url === pathToFileURL(process.argv[1]).href &&
  process.argv[2] === '--measure'
) {
  await measure(process.argv[3] as keyof typeof measures, process.argv[4]!);
}
