// Type inference (docs/contracts.md#validation-rules-and-codes) and the declared-type checks behind
// TYPE_MISMATCH, value by value.
import { describe, expect, it } from 'vitest';
import { fitsType, TypeObserver } from '../../functions/validate-file/engine/inference.ts';

function infer(...values: string[]) {
  const observer = new TypeObserver();
  for (const value of values) observer.observe(value);
  return observer.result();
}

describe('TypeObserver', () => {
  it.each([
    [['true', 'FALSE', 'True', ''], 'boolean'],
    [['1', '-2', '+3', '2147483647', '-2147483648'], 'integer'],
    [['1', '2147483648'], 'long'],
    [['-2147483649'], 'long'],
    [['9223372036854775807', '-9223372036854775808'], 'long'],
    [['9223372036854775808'], 'number'],
    [['1.5', '2', '.5', '1e3', '-0.25'], 'number'],
    [['2026-01-02', '2024-02-29'], 'date'],
    [['2026-01-02T03:04:05Z', '2026-01-02T03:04+02:00', '2026-01-02T03:04:05.123-0530'], 'datetime'],
    [['007'], 'string'],
    [['1', '007'], 'string'],
    [['0.5', '01.5'], 'string'],
    [['0', '1', 'yes'], 'string'],
    [['2026-02-30'], 'string'],
    [['2025-02-29'], 'string'],
    [['2026-13-01'], 'string'],
    [['2026-01-02T03:04:05'], 'string'],
    [['2026-04-31T10:00Z'], 'string'],
    [['2026-01-02T24:00Z'], 'string'],
    [['', '  '], 'string'],
  ])('%j → %s', (values, type) => {
    expect(infer(...values)).toBe(type);
  });

  it('ignores surrounding spaces and empty cells', () => {
    expect(infer(' 12 ', '', ' 7')).toBe('integer');
  });
});

describe('fitsType', () => {
  it.each([
    ['integer', '2147483647', true],
    ['integer', '2147483648', false],
    ['long', '2147483648', true],
    ['long', '9223372036854775807', true],
    ['long', '9223372036854775808', false],
    ['long', '1.0', false],
    ['number', '1e400', false],
    ['number', '-3.25', true],
    ['boolean', 'TRUE', true],
    ['boolean', '1', false],
    ['date', '2024-02-29', true],
    ['date', '2026-02-30', false],
    ['datetime', '2026-01-02T03:04:05Z', true],
    ['datetime', '2026-01-02 03:04:05Z', false],
    ['datetime', '2026-02-30T03:04:05Z', false],
    ['string', 'anything', true],
    ['integer', '   ', true],
  ] as const)('%s accepts %j: %s', (type, value, expected) => {
    expect(fitsType(type, value)).toBe(expected);
  });
});
