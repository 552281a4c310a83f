// `aep-audience validate` behind the CLI: the same engine on a local file, the `validate --json` shape of
// docs/contracts.md#json-output, a malformed manifest as a MANIFEST_INVALID error, and nothing written.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stackValidationSettings, validateLocalFile } from '../../local/validate.ts';

const fixture = (name: string) => path.resolve(import.meta.dirname, '../fixtures/csv', name);
const work = mkdtempSync(path.join(tmpdir(), 'validate-local-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const full = path.join(work, name);
  writeFileSync(full, text);
  return full;
}

describe('validateLocalFile', () => {
  it('returns exactly the validate --json keys, with fields and identities', async () => {
    const result = await validateLocalFile(fixture('types.csv'));
    expect(Object.keys(result).sort()).toEqual(['errors', 'fields', 'invalidRows', 'rows', 'valid']);
    expect(result).toMatchObject({ valid: true, rows: 3, invalidRows: 0, errors: [] });
    expect(result.fields[0]).toEqual({ name: 'crm_id', type: 'string', identityNs: 'CRMID' });
    expect(result.fields.find((f) => f.name === 'big')?.type).toBe('long');
  });

  it('lists masked row errors with exact counts', async () => {
    const result = await validateLocalFile(fixture('row-errors.csv'));
    expect(result.valid).toBe(false);
    expect(result.invalidRows).toBe(3);
    expect(result.errors.map((e) => e.code).sort()).toEqual([
      'INVALID_IDENTITY',
      'MISSING_IDENTITY',
      'ROW_WIDTH_MISMATCH',
    ]);
    expect(JSON.stringify(result)).not.toContain('not-an-email');
  });

  it('lists at most 1,000 errors while counting every invalid row', async () => {
    const rows = Array.from({ length: 1500 }, (_, i) => `bad-${i},x`).join('\n');
    const result = await validateLocalFile(file('many-bad.csv', `email,name\n${rows}\n`));
    expect(result.invalidRows).toBe(1500);
    expect(result.rows).toBe(1500);
    expect(result.errors).toHaveLength(1000);
  });

  it('applies a manifest: declared identities and types', async () => {
    const csv = file('declared.csv', 'member,score\nM1,12\nM2,abc\n');
    const manifest = file(
      'declared.manifest.json',
      JSON.stringify({
        identities: { member: 'CRMID' },
        fields: { score: 'integer' },
        maxInvalidRowsPercent: 50,
      }),
    );
    const result = await validateLocalFile(csv, manifest);
    expect(result).toMatchObject({ valid: true, rows: 2, invalidRows: 1 });
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({ row: 2, column: 'score', code: 'TYPE_MISMATCH' });
    expect(result.errors[0]?.message).toMatch(/^row 2, column "score": "a\*\*\*" is not an? integer/);
    expect(result.fields).toEqual([
      { name: 'member', type: 'string', identityNs: 'CRMID' },
      { name: 'score', type: 'integer' },
    ]);
  });

  it('turns a malformed manifest into valid:false with a MANIFEST_INVALID error of row null', async () => {
    const csv = fixture('types.csv');
    for (const text of ['{ not json', JSON.stringify({ ttlInDays: 0 }), JSON.stringify({ extra: true })]) {
      const result = await validateLocalFile(csv, file('bad.manifest.json', text));
      expect(result.valid).toBe(false);
      expect(result.errors).toHaveLength(1);
      expect(result.errors[0]).toMatchObject({ row: null, column: null, code: 'MANIFEST_INVALID' });
    }
  });

  it('reports a manifest naming a column the file lacks', async () => {
    const manifest = file('missing-col.manifest.json', JSON.stringify({ fields: { nope: 'string' } }));
    const result = await validateLocalFile(fixture('types.csv'), manifest);
    expect(result.valid).toBe(false);
    expect(result.errors[0]).toMatchObject({ code: 'MANIFEST_INVALID' });
    expect(result.errors[0]?.message).toContain('fields.nope');
  });

  it('writes nothing beside the file', async () => {
    const before = readdirSync(work).sort();
    await validateLocalFile(path.join(work, 'declared.csv'));
    expect(readdirSync(work).sort()).toEqual(before);
  });

  it("honours the stack's requireManifest: no manifest is MANIFEST_MISSING, a manifest passes", async () => {
    const settings = { ...stackValidationSettings(), requireManifest: true };
    const missing = await validateLocalFile(fixture('types.csv'), undefined, settings);
    expect(missing).toMatchObject({ valid: false, rows: 0 });
    expect(missing.errors).toEqual([
      {
        row: null,
        column: null,
        code: 'MANIFEST_MISSING',
        message: expect.stringContaining('types.manifest.json'),
      },
    ]);
    const manifest = file('required.manifest.json', JSON.stringify({ name: 'Required' }));
    expect((await validateLocalFile(fixture('types.csv'), manifest, settings)).valid).toBe(true);
  });

  it('takes its settings from cdk.json, as the stack does', () => {
    expect(stackValidationSettings()).toEqual({
      identityNamespaces: { crmid: 'CRMID' },
      maxFileSizeBytes: 10 * 1024 ** 3,
      requireManifest: false,
    });
  });
});
