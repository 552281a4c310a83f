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

/**
 * AEP's batch schedule rules (functions/shared/aep/batch-export.ts), as `aep-audience validate <csv> --manifest
 * m.json --json` reports them: before any run is spent, a MANIFEST_INVALID naming the destination and the rule.
 */
describe('validateLocalFile, batch destination schedules', () => {
  const FLOW = 'flow-batch-1';
  const TEMPLATE = '%DESTINATION_NAME%_%SEGMENT_ID%_%DATETIME(YYYYMMdd_HHmmss)%';
  let manifests = 0;

  async function validateSchedule(
    exportMode: string,
    schedule: Record<string, unknown>,
    filenameTemplate = TEMPLATE,
  ) {
    manifests += 1;
    const destination = { flowId: FLOW, kind: 'batch', exportMode, schedule, filenameTemplate };
    const manifest = file(
      `schedule-${manifests}.manifest.json`,
      JSON.stringify({ destinations: [{ flowId: 'flow-streaming', kind: 'streaming' }, destination] }),
    );
    return validateLocalFile(fixture('types.csv'), manifest);
  }

  const base = { startDate: '2026-12-01' };

  it.each([
    [
      'DAILY_FULL_EXPORT, DAILY, SCHEDULED by default, at 20:00',
      'DAILY_FULL_EXPORT',
      { frequency: 'DAILY', startTime: '20:00' },
    ],
    [
      'DAILY_FULL_EXPORT, ONCE, SCHEDULED',
      'DAILY_FULL_EXPORT',
      { frequency: 'ONCE', triggerType: 'SCHEDULED', startTime: '06:00' },
    ],
    [
      'DAILY_FULL_EXPORT after segmentation, no startTime',
      'DAILY_FULL_EXPORT',
      { frequency: 'DAILY', triggerType: 'AFTER_SEGMENT_EVAL', endDate: '2026-12-31' },
    ],
    [
      'FIRST_FULL_THEN_INCREMENTAL every 6 hours from 20:00',
      'FIRST_FULL_THEN_INCREMENTAL',
      { frequency: 'EVERY_6_HOURS', startTime: '20:00', endDate: '2027-01-31' },
    ],
  ])('accepts %s', async (_name, exportMode, schedule) => {
    const result = await validateSchedule(exportMode, { ...base, ...schedule });
    expect(result.errors).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it.each([
    [
      'FIRST_FULL_THEN_INCREMENTAL without startTime',
      'FIRST_FULL_THEN_INCREMENTAL',
      { frequency: 'DAILY' },
      'schedule.startTime',
      'startTime (a UTC hour HH:00) is required: only DAILY_FULL_EXPORT with triggerType AFTER_SEGMENT_EVAL',
    ],
    [
      'a scheduled DAILY_FULL_EXPORT without startTime',
      'DAILY_FULL_EXPORT',
      { frequency: 'DAILY', triggerType: 'SCHEDULED' },
      'schedule.startTime',
      'startTime (a UTC hour HH:00) is required with triggerType SCHEDULED',
    ],
    [
      'AFTER_SEGMENT_EVAL with a startTime',
      'DAILY_FULL_EXPORT',
      { frequency: 'DAILY', triggerType: 'AFTER_SEGMENT_EVAL', startTime: '20:00' },
      'schedule.startTime',
      'remove startTime',
    ],
    [
      'a triggerType with FIRST_FULL_THEN_INCREMENTAL',
      'FIRST_FULL_THEN_INCREMENTAL',
      { frequency: 'EVERY_3_HOURS', triggerType: 'SCHEDULED', startTime: '20:00' },
      'schedule.triggerType',
      'triggerType applies to DAILY_FULL_EXPORT only',
    ],
    [
      'an hourly frequency with a full export',
      'DAILY_FULL_EXPORT',
      { frequency: 'EVERY_3_HOURS', startTime: '20:00' },
      'schedule.frequency',
      'the frequency must be one of ONCE, DAILY',
    ],
    [
      'an endDate with ONCE',
      'DAILY_FULL_EXPORT',
      { frequency: 'ONCE', startTime: '20:00', endDate: '2026-12-02' },
      'schedule.endDate',
      'frequency ONCE takes no endDate',
    ],
    [
      'an endDate before the startDate',
      'FIRST_FULL_THEN_INCREMENTAL',
      { frequency: 'DAILY', startTime: '20:00', endDate: '2026-11-30' },
      'schedule.endDate',
      'endDate must not be before startDate',
    ],
    [
      'a startTime that is not a whole hour',
      'FIRST_FULL_THEN_INCREMENTAL',
      { frequency: 'DAILY', startTime: '20:30' },
      'schedule.startTime',
      'startTime must be a UTC hour HH:00',
    ],
  ])(
    'refuses %s: MANIFEST_INVALID naming the destination, the key and the rule',
    async (_name, mode, schedule, key, rule) => {
      const result = await validateSchedule(mode, { ...base, ...schedule });
      expect(result).toMatchObject({ valid: false, rows: 0 });
      expect(result.errors).toHaveLength(1);
      expect(result.errors[0]).toMatchObject({ row: null, column: null, code: 'MANIFEST_INVALID' });
      const message = result.errors[0]?.message ?? '';
      expect(message).toContain(`"destinations.1.${key}"`);
      expect(message).toContain(`destination ${FLOW} (${mode})`);
      expect(message).toContain(rule);
    },
  );

  it('refuses a file name template without %SEGMENT_ID%', async () => {
    const result = await validateSchedule(
      'DAILY_FULL_EXPORT',
      { ...base, frequency: 'DAILY', startTime: '20:00' },
      '%DESTINATION_NAME%_%TIMESTAMP%',
    );
    expect(result.errors[0]?.message).toMatch(
      /"destinations\.1\.filenameTemplate".*destination flow-batch-1.*%DESTINATION_NAME% and %SEGMENT_ID%/,
    );
  });
});
