// Masking for reports and notifications: one value (maskValue), and the values free text from AEP may quote
// (maskFreeText) while its codes, counts and ids stay readable.
import { describe, expect, it } from 'vitest';
import { maskFreeText, maskValue } from '../../functions/shared/mask.ts';

describe('maskValue', () => {
  it('keeps enough to recognise a value, not to read it', () => {
    expect(maskValue('alice@example.com')).toBe('a***@e***');
    expect(maskValue('+33 6 12 34 56 78')).toBe('+33***78');
    expect(maskValue('Dupont')).toBe('D***');
    expect(maskValue('  ')).toBe('');
  });
});

describe('maskFreeText', () => {
  it('masks quoted parts, e-mail addresses and long numbers', () => {
    expect(maskFreeText('value "alice@example.com" of column email is invalid')).toBe(
      'value "a***@e***" of column email is invalid',
    );
    expect(maskFreeText("name 'Jean Dupont' too long; “Zoë” too")).toBe("name 'J***' too long; “Z***” too");
    expect(maskFreeText('sent to bob@corp.io, phone +33 6 12 34 56 78, CRM 00012345')).toBe(
      'sent to b***@c***, phone +33***78, CRM 000***45',
    );
  });

  it('leaves codes, counts, ids and empty quotes alone', () => {
    const text =
      'INGEST-1212-400: Encountered 1 errors in the data. Successfully ingested 99 rows of batch 01EF01X41KJD82Y9ZX6ET54PCZ, run 9830305a-985f-47d0-b030-5a985fd7d004, value ""';
    expect(maskFreeText(text)).toBe(text);
    expect(maskFreeText('row 123456 failed')).toBe('row 123456 failed');
  });
});
