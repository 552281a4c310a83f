// The validation engine on small fixture files: the tricky valid cases, each code it knows and the type
// inference of docs/contracts.md#validation-rules-and-codes, the canonical staged copy and masked messages.
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type EngineOptions, validateCsv } from '../../functions/validate-file/engine/engine.ts';
import { BUILT_IN_IDENTITY_HEADERS } from '../../functions/validate-file/engine/identities.ts';
import { firstInvalidUtf8 } from '../../functions/validate-file/engine/record-range.ts';
import { parseManifest } from '../../functions/validate-file/manifest.ts';

const fixture = (name: string) => path.resolve(import.meta.dirname, '../fixtures/csv', name);
const identityHeaders = { ...BUILT_IN_IDENTITY_HEADERS, crmid: 'CRMID' };

/** The engine on a fixture file, with its staged copy as text. */
function validate(name: string, options: Partial<EngineOptions> = {}) {
  return validateInput(createReadStream(fixture(name)), options);
}

/** The engine on CSV text. */
function validateText(text: string, options: Partial<EngineOptions> = {}) {
  return validateInput(Readable.from([Buffer.from(text)]), options);
}

async function validateInput(input: Readable, options: Partial<EngineOptions>) {
  const staged = new PassThrough();
  const chunks: Buffer[] = [];
  staged.on('data', (c: Buffer) => chunks.push(c));
  const result = await validateCsv(input, { identityHeaders, staged, ...options });
  staged.end();
  return { result, staged: Buffer.concat(chunks).toString('utf8') };
}

const codes = (r: { errors: { code: string }[] }) => [...new Set(r.errors.map((e) => e.code))];

describe('validateCsv', () => {
  it('accepts BOM, CRLF, quoted commas, quotes and newlines, non-ASCII and padded upper-case emails', async () => {
    const { result, staged } = await validate('tricky-valid.csv');
    expect(result.errors).toEqual([]);
    expect(result).toMatchObject({ valid: true, rows: 4, invalidRows: 0, identities: { Email: 4 } });
    expect(staged.startsWith('\ufeff')).toBe(false);
    expect(staged).not.toContain('\r');
    expect(staged).toContain('"Smith, Ann"');
    expect(staged).toContain('"He said ""hi""\nthen left"');
    expect(staged).toContain('bob2@example.com,\n');
    expect(staged).toContain('chloé@example.com,Chloé');
  });

  it('reads a last row without a trailing newline and writes it with one', async () => {
    const { result, staged } = await validate('no-trailing-newline.csv');
    expect(result).toMatchObject({ valid: true, rows: 2, identities: { Email: 2 } });
    expect(staged).toBe('email,name\nann@example.com,Ann\nbob@example.com,"Bob, Jr"\n');
  });

  it('reports every header problem as a file error and names them all in the failure', async () => {
    const { result, staged } = await validate('header-problems.csv');
    expect(result.fileErrors.map((e) => [e.code, e.row, e.column])).toEqual([
      ['BLANK_COLUMN_NAME', 0, null],
      ['DUPLICATE_COLUMN', 0, 'Email'],
      ['DUPLICATE_COLUMN', 0, 'name'],
    ]);
    expect(result.failure?.message).toBe(
      'BLANK_COLUMN_NAME: column 2 of the header has no name; also DUPLICATE_COLUMN',
    );
    expect(result.rows).toBe(0);
    expect(staged).toBe('');
  });

  it('takes exactly 41 columns and refuses 42 with TOO_MANY_COLUMNS', async () => {
    expect((await validate('41-columns.csv')).result.valid).toBe(true);
    const { result } = await validate('42-columns.csv');
    expect(result.valid).toBe(false);
    expect(codes(result)).toEqual(['TOO_MANY_COLUMNS']);
    expect(result.errors[0]).toMatchObject({ row: 0 });
  });

  it.each([
    ['empty.csv', 'EMPTY_FILE'],
    ['whitespace.csv', 'EMPTY_FILE'],
    ['header-only.csv', 'NO_ROWS'],
    ['semicolon.csv', 'UNSUPPORTED_DELIMITER'],
    ['blank-column.csv', 'BLANK_COLUMN_NAME'],
    ['duplicate-column.csv', 'DUPLICATE_COLUMN'],
    ['unterminated-quote.csv', 'CSV_SYNTAX'],
    ['no-identity.csv', 'NO_IDENTITY_COLUMN'],
    ['latin1.csv', 'INVALID_ENCODING'],
    ['stray-quote.csv', 'CSV_SYNTAX'],
    ['binary.csv', 'CSV_SYNTAX'],
  ])('%s → %s', async (file, code) => {
    const { result } = await validate(file);
    expect(result.valid).toBe(false);
    expect(codes(result)).toContain(code);
    expect(result.failure?.code).toBe('VALIDATION_FAILED');
  });

  it('reports row errors with the row, the column and a masked value, and leaves bad rows out', async () => {
    const { result, staged } = await validate('row-errors.csv', { maxInvalidRowsPercent: 100 });
    expect(result.invalidByCode).toEqual({ ROW_WIDTH_MISMATCH: 1, MISSING_IDENTITY: 1, INVALID_IDENTITY: 1 });
    expect(result.errors).toContainEqual({
      row: 3,
      column: 'email',
      code: 'INVALID_IDENTITY',
      message: 'row 3, column "email": "n***" is not an email address',
    });
    expect(JSON.stringify(result.errors)).not.toContain('not-an-email');
    expect(result.valid).toBe(true);
    expect(staged).toBe('email,name\n');
  });

  it('fails the file when bad rows exceed maxInvalidRowsPercent (default 0)', async () => {
    const { result } = await validate('row-errors.csv');
    expect(result.valid).toBe(false);
    expect(result.failure?.message).toMatch(/^3 of 3 rows are invalid/);
  });

  it('infers types as documented: boolean, integer, long, number, date, datetime; leading zeros stay strings', async () => {
    const { result } = await validate('types.csv');
    const types = Object.fromEntries(result.fields.map((f) => [f.name, f.type]));
    expect(types).toEqual({
      crm_id: 'string',
      flag: 'boolean',
      count: 'integer',
      big: 'long',
      amount: 'number',
      day: 'date',
      moment: 'datetime',
      code: 'string',
      mixed: 'string',
    });
    expect(result.fields[0]).toMatchObject({ name: 'crm_id', identityNs: 'CRMID' });
  });

  it('normalizes phones to E.164 when unambiguous and checks ECIDs', async () => {
    const { result, staged } = await validate('phones-ecids.csv', { maxInvalidRowsPercent: 100 });
    expect(result.invalidByCode).toEqual({ INVALID_IDENTITY: 2 });
    expect(staged).toContain('+33612345678,');
    expect(staged).toContain('+14155550100,');
    expect(result.identities).toEqual({ 'Phone_E.164': 2, ECID: 1 });
  });

  it('with hashIdentities, stages SHA-256 digests of normalized e-mails and phones in the hashed namespaces', async () => {
    const manifest = parseManifest(JSON.stringify({ hashIdentities: true }));
    const input = 'email,phone,crm_id\n Ann@Example.COM ,+1 (415) 555-0100,c1\nnot-an-email,,c2\n';
    const { result, staged: text } = await validateText(input, { manifest, maxInvalidRowsPercent: 100 });
    const ann = createHash('sha256').update('ann@example.com').digest('hex');
    const phone = createHash('sha256').update('+14155550100').digest('hex');
    expect(text).toBe(`email,phone,crm_id\n${ann},${phone},c1\n`);
    expect(text).not.toContain('@');
    expect(result.fields.map((f) => f.identityNs)).toEqual([
      'Email_LC_SHA256',
      'Phone_SHA256_E.164',
      'CRMID',
    ]);
    expect(result.identities).toEqual({ Email_LC_SHA256: 1, 'Phone_SHA256_E.164': 1, CRMID: 1 });
    // The rejected row is reported masked, as always.
    expect(result.errors[0]?.message).toMatch(/"n\*+" is not an email address/);
  });

  it('checks columns already hashed, per row: 64 hex characters, upper case lower-cased', async () => {
    const manifest = parseManifest(JSON.stringify({ identities: { email_hash: 'Email_LC_SHA256' } }));
    const digest = createHash('sha256').update('bob@example.com').digest('hex');
    const input = `email_hash\n${digest.toUpperCase()}\nnot-a-digest\n`;
    const { result, staged } = await validateText(input, { manifest, maxInvalidRowsPercent: 100 });
    expect(staged).toBe(`email_hash\n${digest}\n`);
    expect(result.invalidByCode).toEqual({ INVALID_IDENTITY: 1 });
    expect(result.errors[0]?.message).toMatch(/is not a SHA-256 digest/);
  });

  it('uses manifest identities and types, and refuses a manifest naming a missing column', async () => {
    const manifest = parseManifest(
      JSON.stringify({ identities: { crm_id: 'CRMID' }, fields: { count: 'integer' } }),
    );
    const ok = await validate('types.csv', { manifest });
    expect(ok.result.valid).toBe(true);
    const bad = await validate('types.csv', {
      manifest: parseManifest(JSON.stringify({ fields: { nope: 'string' } })),
    });
    expect(bad.result.failure?.code).toBe('MANIFEST_INVALID');
    expect(bad.result.errors[0]?.message).toMatch(/"fields\.nope"/);
  });
});

describe('parseManifest', () => {
  it.each([
    [{ surprise: 1 }, /unknown key\(s\) "surprise"/],
    [{ ttlInDays: 91 }, /"ttlInDays"/],
    [{ fields: { a: 'text' } }, /"fields\.a"/],
    [
      {
        destinations: [
          {
            flowId: 'f',
            kind: 'batch',
            exportMode: 'DAILY_FULL_EXPORT',
            schedule: { frequency: 'EVERY_3_HOURS', startDate: '2026-12-01', startTime: '20:00' },
            filenameTemplate: '%DESTINATION_NAME%_%SEGMENT_ID%',
          },
        ],
      },
      /"destinations\.0\.schedule\.frequency"/,
    ],
  ])('refuses %j naming the key', (manifest, message) => {
    expect(() => parseManifest(JSON.stringify(manifest))).toThrow(message);
  });

  it('reads the sample manifest', () => {
    const manifest = parseManifest(
      readFileSync(path.resolve(import.meta.dirname, '../../samples/customers.manifest.json'), 'utf8'),
    );
    expect(manifest.destinations).toHaveLength(2);
  });
});

describe('validateCsv, privacy and manifest scope', () => {
  it('quotes no cell value in a CSV_SYNTAX message', async () => {
    const { result } = await validate('stray-quote.csv');
    expect(result.errors[0]?.code).toBe('CSV_SYNTAX');
    expect(JSON.stringify(result)).not.toContain('secret');
  });

  it('a manifest naming one identity column still detects the others from their headers', async () => {
    const manifest = parseManifest(JSON.stringify({ identities: { crm_id: 'CRMID' } }));
    const { result } = await validate('../workflow/customers-small.csv', { manifest });
    expect(result.fields[0]).toMatchObject({ name: 'email', identityNs: 'Email' });
    expect(result.identities).toEqual({ Email: 40, CRMID: 40 });
  });
});

describe('UTF-8 checks as the bytes stream', () => {
  const text = Buffer.from('email,city\na@example.com,Zürich 🏔️ 東京\n', 'utf8');
  const inChunks = (bytes: Buffer, size: number) => {
    const chunks: Buffer[] = [];
    for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
    return Readable.from(chunks);
  };

  it('accepts valid text however it is split into chunks, characters cut included', async () => {
    for (let size = 1; size <= 7; size++) {
      const result = await validateCsv(inChunks(text, size), { identityHeaders });
      expect(result.valid).toBe(true);
      expect(result.rows).toBe(1);
    }
  });

  it('stops at the first bad byte whatever the chunking: the rows before it count, its own does not', async () => {
    const bad = Buffer.concat([
      Buffer.from('email\na@example.com\nb@exa'),
      Buffer.from([0xff]),
      Buffer.from('mple.com\n'),
    ]);
    for (let size = 1; size <= bad.length; size += 3) {
      const result = await validateCsv(inChunks(bad, size), { identityHeaders });
      expect(result.fileErrors.map((e) => e.code)).toEqual(['INVALID_ENCODING']);
      expect(result.rows).toBe(1);
    }
  });

  it('finds the first byte that is not UTF-8: stray continuation, bad lead, overlong, surrogate', () => {
    expect(firstInvalidUtf8(Buffer.from([0x61, 0x80, 0x62]))).toBe(1);
    expect(firstInvalidUtf8(Buffer.from([0x61, 0x62, 0xff]))).toBe(2);
    expect(firstInvalidUtf8(Buffer.from([0xc0, 0xaf]))).toBe(0);
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xed, 0xa0, 0x80]))).toBe(1);
    expect(firstInvalidUtf8(Buffer.from('Zürich 🏔️', 'utf8'))).toBe(-1);
    // Latin-1 as a spreadsheet might save it: "Zürich" with ü as 0xFC.
    expect(firstInvalidUtf8(Buffer.from('5afc72696368', 'hex'))).toBe(1);
  });

  it('refuses text that ends inside a character', async () => {
    const cut = text.subarray(0, text.indexOf(0xf0) + 2);
    const result = await validateCsv(Readable.from([cut]), { identityHeaders });
    expect(result.fileErrors.map((e) => e.code)).toEqual(['INVALID_ENCODING']);
  });
});
