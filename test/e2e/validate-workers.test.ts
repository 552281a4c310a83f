// `aep-audience validate --workers N --split-bytes B`, as a user runs it: a generated file whose quoted
// newlines, CRLFs and multibyte characters fall on many range boundaries gives the same --json answer in one
// thread and by 64 KiB ranges on two workers; a .csv.gz and a folder of parts are read too.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/aep-audience.js');
let dir: string;

async function validate(target: string, ...flags: string[]) {
  const answer = await promisify(execFile)(process.execPath, [BIN, 'validate', target, '--json', ...flags], {
    cwd: ROOT,
  }).catch((error: { stdout: string; code: number }) => ({ stdout: error.stdout, code: error.code }));
  return JSON.parse(answer.stdout) as {
    valid: boolean;
    rows: number;
    invalidRows: number;
    errors: unknown[];
    parts?: unknown[];
  };
}

/** Rows with quoted newlines, doubled quotes, é/東/🏔️, bad e-mails; line ends mixed. */
function generatedRows(from: number, to: number): string[] {
  const lines: string[] = [];
  for (let i = from; i < to; i++) {
    const email = i % 97 === 0 ? `broken-${i}` : `user${i}@example.com`;
    const note = i % 3 === 0 ? `"first ${i}\r\nsecond ""quoted"" 東京 🏔️"` : `plain é ${i}`;
    lines.push(`${email},${note},${i % 1000}${i % 5 === 0 ? '\r' : ''}`);
  }
  return lines;
}
const generated = (from: number, to: number) => `email,note,score\n${generatedRows(from, to).join('\n')}\n`;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'aep-validate-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('aep-audience validate --workers', () => {
  it('answers the same in one thread and by 64 KiB ranges on two workers', async () => {
    const file = path.join(dir, 'generated.csv');
    writeFileSync(file, generated(0, 40_000));

    const one = await validate(file, '--workers', '1');
    const two = await validate(file, '--workers', '2', '--split-bytes', '65536');

    expect(one.rows).toBe(40_000);
    expect(one.errors.length).toBeGreaterThan(400);
    expect(two).toEqual(one);
  }, 60_000);

  it('reads a .csv.gz and a folder of parts', async () => {
    writeFileSync(path.join(dir, 'zipped.csv.gz'), gzipSync(generated(0, 2000)));
    const folder = path.join(dir, 'export.parts');
    mkdirSync(folder);
    writeFileSync(path.join(folder, 'part-00000.csv'), generated(0, 1000));
    writeFileSync(path.join(folder, 'part-00001.csv.gz'), gzipSync(generated(1000, 2000)));
    writeFileSync(path.join(folder, '_SUCCESS'), '');

    const zipped = await validate(path.join(dir, 'zipped.csv.gz'), '--workers', '2', '--split-bytes', '4096');
    const parts = await validate(folder, '--workers', '2', '--split-bytes', '4096');

    // Every 97th e-mail is broken: rows 0, 97, …, 1940.
    expect(zipped).toMatchObject({ rows: 2000, invalidRows: 21 });
    expect(parts).toMatchObject({ rows: 2000, invalidRows: 21 });
    expect(parts.parts).toEqual([
      expect.objectContaining({ key: `${folder}/part-00000.csv`, rows: 1000 }),
      expect.objectContaining({ key: `${folder}/part-00001.csv.gz`, rows: 1000 }),
    ]);
  }, 60_000);
});
