// Validation by byte ranges gives exactly what one pass gives: the result (counts, codes, identities, inferred
// types, the first errors with their rows, file-level problems), the staged copy and rejects.csv byte for byte.
// Generated files put quoted newlines, doubled quotes, CRLF, lone CR and multibyte characters at many range
// boundaries; some are broken (a stray quote, an unclosed one, a byte that is not UTF-8, a NUL).
import { PassThrough, Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type EngineOptions,
  validateCsv,
  validateSources,
} from '../../functions/validate-file/engine/engine.ts';
import { BUILT_IN_IDENTITY_HEADERS } from '../../functions/validate-file/engine/identities.ts';
import { RecordCutter } from '../../functions/validate-file/engine/record-cutter.ts';
import { staging } from '../../functions/validate-file/engine/record-range.ts';
import { ThreadPool } from '../../functions/validate-file/engine/thread-pool.ts';

const identityHeaders = { ...BUILT_IN_IDENTITY_HEADERS, crmid: 'CRMID' };

const cell = fc.oneof(
  fc.constantFrom('', ' ', 'plain', '42', '-7', '3.14', '007', 'true', 'FALSE', '2026-02-29', '2024-02-29'),
  fc.constantFrom('2026-12-01T10:00:00Z', '9223372036854775808', '2147483648', 'Zürich', '東京', '🏔️', 'a,b'),
  fc.constantFrom('"quoted ""twice"""', '"line\nbreak"', '"crlf\r\ninside"', '"cr\ronly"', '""', '"é\n東"'),
);
const email = fc.constantFrom('ann@example.com', ' Bob@Example.COM ', 'not-an-email', '', '"c@example.com"');
const lineEnd = fc.constantFrom('\n', '\r\n', '\r', '\n\n', '\r\n  \r\n', '\n,\n');
const breakage = fc.constantFrom(
  { at: 'none', bytes: '' },
  { at: 'none', bytes: '' },
  { at: 'none', bytes: '' },
  { at: 'stray quote', bytes: 'x"y' },
  { at: 'unclosed quote', bytes: '"never closed' },
  { at: 'not utf-8', bytes: '\xff' },
  { at: 'nul', bytes: '\x00' },
);

/** A CSV file as bytes: a header (3 columns, 1 or 2 of them identities), rows of 0–6 cells, mixed line ends, maybe one defect. */
const csvFile = fc
  .record({
    bom: fc.boolean(),
    leadingBlank: fc.boolean(),
    // With crm_id, a row may have a blank identity beside a good one (staged blank).
    header: fc.constantFrom('email,note,value', 'email,crm_id,value'),
    headerEnd: lineEnd,
    rows: fc.array(
      fc.record({
        cells: fc.oneof(
          { weight: 6, arbitrary: fc.tuple(email, cell, cell).map((c) => [...c]) },
          { weight: 1, arbitrary: fc.array(cell, { maxLength: 6 }) },
        ),
        end: lineEnd,
      }),
      { maxLength: 60 },
    ),
    trailingEnd: fc.boolean(),
    defect: breakage,
    defectRow: fc.nat(),
  })
  .map((f) => {
    const parts: Buffer[] = [];
    if (f.bom) parts.push(Buffer.from([0xef, 0xbb, 0xbf]));
    if (f.leadingBlank) parts.push(Buffer.from('\n'));
    parts.push(Buffer.from(`${f.header}${f.headerEnd}`));
    f.rows.forEach((row, i) => {
      let line = row.cells.join(',');
      if (f.defect.at !== 'none' && i === f.defectRow % f.rows.length) line += f.defect.bytes;
      const last = i === f.rows.length - 1;
      const end = last && !f.trailingEnd ? '' : row.end;
      parts.push(Buffer.from(line, 'utf8'));
      // Defect bytes are raw: 0xFF is not UTF-8 once written as latin1.
      if (f.defect.bytes === '\xff' && i === f.defectRow % f.rows.length)
        parts[parts.length - 1] = Buffer.concat([
          Buffer.from(row.cells.join(','), 'utf8'),
          Buffer.from([0xff]),
        ]);
      parts.push(Buffer.from(end));
    });
    return Buffer.concat(parts);
  });

async function run(bytes: Buffer, options: Partial<EngineOptions>, chunkSize = 65536) {
  const staged = new PassThrough();
  const rejects = new PassThrough();
  const out = { staged: [] as Buffer[], rejects: [] as Buffer[] };
  staged.on('data', (c: Buffer) => out.staged.push(c));
  rejects.on('data', (c: Buffer) => out.rejects.push(c));
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += chunkSize) chunks.push(bytes.subarray(at, at + chunkSize));
  const settings: EngineOptions = { identityHeaders, staged, rejects, maxInvalidRowsPercent: 50, ...options };
  const result =
    options.workers === undefined && options.splitBytes === undefined
      ? await validateCsv(Readable.from(chunks), settings)
      : await validateSources([{ name: 'file', gzip: false, open: () => Readable.from(chunks) }], settings);
  // Time differs, and after a file-level stop so does how far reading got before it stopped (the bytes).
  const { durationMs: _durationMs, bytes: read, ...comparable } = result;
  return {
    bytes: result.fileErrors.length > 0 ? 'read ahead' : read,
    result: comparable,
    staged: Buffer.concat(out.staged).toString('latin1'),
    rejects: Buffer.concat(out.rejects).toString('latin1'),
  };
}

describe('record cutter', () => {
  it('cuts only after a line break outside quotes, never inside a CRLF', () => {
    const text = Buffer.from('a,"b\nc"\r\nd,e\rf,"g""\r"\n');
    const cutter = new RecordCutter(1);
    const slices = [...cutter.push(text.subarray(0, 9)), ...cutter.push(text.subarray(9)), ...cutter.end()];
    expect(slices.map((s) => s.toString())).toEqual(['a,"b\nc"\r\n', 'd,e\r', 'f,"g""\r"\n']);
  });

  it('holds a final CR until the next byte says whether it is a CRLF', () => {
    const cutter = new RecordCutter(1);
    expect(cutter.push(Buffer.from('a,b\r'))).toEqual([]);
    expect(cutter.push(Buffer.from('\nc')).map(String)).toEqual(['a,b\r\n']);
    expect(cutter.end().map(String)).toEqual(['c']);
  });
});

describe('validation by ranges = one pass', () => {
  it('in one thread, for any file, chunking and range size (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        csvFile,
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 97 }),
        async (bytes, splitBytes, chunkSize) => {
          const whole = await run(bytes, {});
          const ranged = await run(bytes, { splitBytes, workers: 1 }, chunkSize);
          expect(ranged).toEqual(whole);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('rows staged as their bytes = rows re-serialized, for any file and chunking (property)', async () => {
    await fc.assert(
      fc.asyncProperty(csvFile, fc.integer({ min: 1, max: 97 }), async (bytes, chunkSize) => {
        const copied = await run(bytes, {}, chunkSize);
        staging.verbatim = false;
        try {
          expect(await run(bytes, {}, chunkSize)).toEqual(copied);
        } finally {
          staging.verbatim = true;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('quote-free lines split here = csv-parse reading every line, for any file, chunking and size limit (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        csvFile,
        fc.integer({ min: 1, max: 97 }),
        // A size limit cuts the file anywhere (or nowhere).
        fc.option(fc.nat(), { nil: undefined }),
        async (bytes, chunkSize, cutAt) => {
          const maxFileSizeBytes = cutAt === undefined ? undefined : cutAt % (bytes.length + 1);
          const split = await run(bytes, { maxFileSizeBytes }, chunkSize);
          staging.splitLines = false;
          try {
            expect(await run(bytes, { maxFileSizeBytes }, chunkSize)).toEqual(split);
          } finally {
            staging.splitLines = true;
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('a size limit right after a CR: the CR ends the line, as csv-parse reads it', async () => {
    for (const end of ['\r\n', '\r']) {
      const text = `email,note,value\nann@example.com,a,b${end}bob@example.com,c,d\n`;
      const maxFileSizeBytes = text.indexOf('\r') + 1;
      const split = await run(Buffer.from(text), { maxFileSizeBytes });
      expect(split.result).toMatchObject({ rows: 1, fileErrors: [{ code: 'FILE_TOO_LARGE' }] });
      staging.splitLines = false;
      try {
        expect(await run(Buffer.from(text), { maxFileSizeBytes })).toEqual(split);
      } finally {
        staging.splitLines = true;
      }
    }
  });

  const pool = new ThreadPool(2);
  afterAll(() => pool.close());

  it('on two worker threads, slices moved to the workers and merged in order (property)', async () => {
    await fc.assert(
      fc.asyncProperty(csvFile, fc.integer({ min: 1, max: 200 }), async (bytes, splitBytes) => {
        const whole = await run(bytes, {});
        const threaded = await run(bytes, { splitBytes, workers: 2, pool });
        expect(threaded).toEqual(whole);
      }),
      { numRuns: 150 },
    );
  });

  it('keeps the cases the properties once found: bytes that start no character, at and before the end', async () => {
    const cases = [
      Buffer.concat([
        Buffer.from('email,note,value\nann@example.com,"quoted ""twice""",\n'),
        Buffer.from([0xff]),
      ]),
      Buffer.concat([Buffer.from('email\nann@example.com\n'), Buffer.from([0xe2, 0x82])]),
      Buffer.concat([Buffer.from('email,n\n"ann@example.com"'), Buffer.from([0xe2]), Buffer.from('x\n')]),
    ];
    for (const bytes of cases) {
      const whole = await run(bytes, {});
      for (const chunkSize of [1, 2, 7])
        expect(await run(bytes, { splitBytes: 1, workers: 1 }, chunkSize)).toEqual(whole);
      expect(await run(bytes, { splitBytes: 3, workers: 2, pool })).toEqual(whole);
    }
  });

  it('a file of many rows over many slices: same staged copy, same 1,000 first errors', async () => {
    const rows = Array.from({ length: 5000 }, (_, i) =>
      i % 3 === 0 ? `bad-${i},"note\n${i}",${i}` : `user${i}@example.com,"say ""hi""",${i}`,
    );
    const lf = Buffer.from(`email,note,value\n${rows.join('\n')}\n`);
    const mixed = Buffer.from(
      `email,note,value\r\n${rows.map((r, i) => r + (i % 2 ? '\n' : '\r\n')).join('')}`,
    );
    for (const file of [lf, mixed]) {
      const whole = await run(file, {});
      const threaded = await run(file, { splitBytes: 4096, workers: 2, pool });
      expect(threaded).toEqual(whole);
      expect(whole.result.errors).toHaveLength(1000);
    }
    expect((await run(mixed, {})).result).toMatchObject({ rows: 5000, invalidRows: 1667 });
  });
});
