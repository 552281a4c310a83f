// `aep-audience validate --json` over the fixture corpus: one small file per code of
// docs/contracts.md#validation-rules-and-codes and per tricky
// valid case, through the command line itself. Each gets its verdict, exactly its codes, and the row and column
// of each error (row 0 = the header, null = the whole file). A `<name>.manifest.json` beside a file is its
// manifest, as for the command.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../local/cli.ts';

const fixture = (name: string) => path.resolve(import.meta.dirname, '../fixtures/csv', name);

interface Expected {
  valid: boolean;
  rows?: number;
  invalidRows?: number;
  /** Every error expected, `[code, row, column]`; the file must have no other code. */
  errors: [string, number | null, string | null][];
}

const corpus: Record<string, Expected> = {
  // tricky but valid
  'tricky-valid.csv': { valid: true, rows: 4, errors: [] }, // BOM, CRLF, quoted , " and newline, é, padded EMAIL
  'no-trailing-newline.csv': { valid: true, rows: 2, errors: [] },
  'several-identities.csv': { valid: true, rows: 3, errors: [] }, // each row carries one of three identities
  '41-columns.csv': { valid: true, rows: 1, errors: [] },
  'blank-lines.csv': { valid: true, rows: 1, errors: [] }, // empty and blank lines are skipped, not rows
  'types.csv': { valid: true, rows: 3, errors: [] }, // empty enrichment cells
  'within-allowance.csv': {
    valid: true,
    rows: 4,
    invalidRows: 1,
    errors: [['INVALID_IDENTITY', 2, 'email']],
  },
  // file-level
  'empty.csv': { valid: false, errors: [['EMPTY_FILE', null, null]] },
  'whitespace.csv': { valid: false, errors: [['EMPTY_FILE', null, null]] },
  'bom-only.csv': { valid: false, errors: [['EMPTY_FILE', null, null]] },
  'latin1.csv': { valid: false, errors: [['INVALID_ENCODING', null, null]] },
  'unterminated-quote.csv': { valid: false, errors: [['CSV_SYNTAX', null, null]] },
  'stray-quote.csv': { valid: false, errors: [['CSV_SYNTAX', null, null]] },
  'binary.csv': { valid: false, errors: [['CSV_SYNTAX', null, null]] },
  'semicolon.csv': { valid: false, errors: [['UNSUPPORTED_DELIMITER', 0, null]] },
  'tab.csv': { valid: false, errors: [['UNSUPPORTED_DELIMITER', 0, null]] },
  'pipe.csv': { valid: false, errors: [['UNSUPPORTED_DELIMITER', 0, null]] },
  'blank-column.csv': { valid: false, errors: [['BLANK_COLUMN_NAME', 0, null]] },
  'duplicate-column.csv': { valid: false, errors: [['DUPLICATE_COLUMN', 0, 'Email']] },
  '42-columns.csv': { valid: false, errors: [['TOO_MANY_COLUMNS', 0, null]] },
  'no-identity.csv': { valid: false, errors: [['NO_IDENTITY_COLUMN', 0, null]] },
  'header-only.csv': { valid: false, rows: 0, errors: [['NO_ROWS', null, null]] },
  'manifest-unknown-column.csv': { valid: false, errors: [['MANIFEST_INVALID', null, null]] },
  'manifest-unknown-key.csv': { valid: false, errors: [['MANIFEST_INVALID', null, null]] },
  'manifest-bad-type.csv': { valid: false, errors: [['MANIFEST_INVALID', null, null]] },
  'manifest-bad-ttl.csv': { valid: false, errors: [['MANIFEST_INVALID', null, null]] },
  'manifest-bad-schedule.csv': { valid: false, errors: [['MANIFEST_INVALID', null, null]] },
  // row-level
  'row-width.csv': { valid: false, rows: 2, invalidRows: 1, errors: [['ROW_WIDTH_MISMATCH', 2, null]] },
  'missing-identity.csv': { valid: false, rows: 1, invalidRows: 1, errors: [['MISSING_IDENTITY', 1, null]] },
  'invalid-identity.csv': {
    valid: false,
    rows: 3,
    invalidRows: 2,
    errors: [
      ['INVALID_IDENTITY', 2, 'email'],
      ['INVALID_IDENTITY', 3, 'ecid'],
    ],
  },
  'type-mismatch.csv': { valid: false, rows: 2, invalidRows: 1, errors: [['TYPE_MISMATCH', 2, 'score']] },
};

async function validateJson(file: string) {
  let stdout = '';
  const exitCode = await main(['validate', fixture(file), '--json'], {
    stdout: (text) => {
      stdout += text;
    },
    stderr: () => undefined,
  });
  return { exitCode, result: JSON.parse(stdout) };
}

describe('aep-audience validate --json over the fixture corpus', () => {
  it.each(Object.entries(corpus))('%s', async (file, expected) => {
    const { exitCode, result } = await validateJson(file);
    expect(Object.keys(result).sort()).toEqual(['errors', 'fields', 'invalidRows', 'rows', 'valid']);
    expect(result.valid).toBe(expected.valid);
    expect(exitCode).toBe(expected.valid ? 0 : 1);
    if (expected.rows !== undefined) expect(result.rows).toBe(expected.rows);
    if (expected.invalidRows !== undefined) expect(result.invalidRows).toBe(expected.invalidRows);
    const found = result.errors.map((e: { code: string; row: number | null; column: string | null }) => [
      e.code,
      e.row,
      e.column,
    ]);
    expect(found).toEqual(expected.errors);
    for (const e of result.errors) {
      expect(e.message).toEqual(expect.any(String));
      // Row errors name their row, and their column when they have one.
      if (e.row) expect(e.message).toContain(`row ${e.row}`);
      if (e.row && e.column) expect(e.message).toContain(`column "${e.column}"`);
    }
  });

  it('names the offending key of an invalid manifest', async () => {
    const message = async (file: string) => (await validateJson(file)).result.errors[0].message as string;
    expect(await message('manifest-unknown-key.csv')).toContain('"colour"');
    expect(await message('manifest-bad-type.csv')).toContain('"fields.name"');
    expect(await message('manifest-bad-ttl.csv')).toContain('"ttlInDays"');
    expect(await message('manifest-bad-schedule.csv')).toContain('"destinations.0.schedule.frequency"');
    expect(await message('manifest-unknown-column.csv')).toContain('"fields.age"');
  });
});
