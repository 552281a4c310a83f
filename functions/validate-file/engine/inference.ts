// Type inference over all values of a column (docs/contracts.md#validation-rules-and-codes): empty cells
// ignored, the narrowest AEP type that
// fits every value, else string. Incremental: one observer per column, fed value by value.
import type { AepFieldType } from '../../shared/aep/types.ts';

const DECIMAL = /^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$/;
const LEADING_ZERO = /^[+-]?0\d/;
const DATETIME_WITH_ZONE =
  /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):([0-5]\d)(:[0-5]\d(\.\d+)?)?(Z|[+-]([01]\d|2[0-3]):?[0-5]\d)$/;
const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

type IntegerWidth = 'integer' | 'long' | undefined;

/**
 * `integer` within ±2^31, `long` within AEP's 64 bits, undefined for anything but `[+-]?(0|[1-9]\d*)`. One char
 * scan that also sums the digits: this runs on every cell of an integer column. Up to 15 digits the sum is
 * exact in a double; longer values are compared as BigInt (no rounding).
 */
function integerWidth(value: string): IntegerWidth {
  const first = value.charCodeAt(0);
  const start = first === 43 || first === 45 ? 1 : 0; // + -
  const length = value.length;
  if (start >= length) return undefined;
  if (value.charCodeAt(start) === 48) return length === start + 1 ? 'integer' : undefined; // 0, but not 007
  let n = 0;
  for (let i = start; i < length; i++) {
    const c = value.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    n = n * 10 + c;
  }
  if (length - start <= 15) {
    if (first === 45) return n <= 2147483648 ? 'integer' : 'long';
    return n <= 2147483647 ? 'integer' : 'long';
  }
  const big = BigInt(value);
  if (big >= INT32_MIN && big <= INT32_MAX) return 'integer';
  if (big >= INT64_MIN && big <= INT64_MAX) return 'long';
  return undefined;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** A day that exists: Date.parse rolls `2026-02-30` over to March instead of refusing it. */
function isRealDay(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  const leap = m === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  return d <= DAYS_IN_MONTH[m - 1]! + (leap ? 1 : 0);
}

/** `d` at `at` as a digit 0–9, or -1: a char scan, so no match arrays are allocated per value. */
function digit(value: string, at: number): number {
  const c = value.charCodeAt(at) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

/** `YYYY-MM-DD` at the start of `value`, a real day; no allocation. */
function startsWithRealDate(value: string): boolean {
  if (value.charCodeAt(4) !== 45 || value.charCodeAt(7) !== 45) return false;
  const y0 = digit(value, 0);
  const y1 = digit(value, 1);
  const y2 = digit(value, 2);
  const y3 = digit(value, 3);
  const m0 = digit(value, 5);
  const m1 = digit(value, 6);
  const d0 = digit(value, 8);
  const d1 = digit(value, 9);
  if ((y0 | y1 | y2 | y3 | m0 | m1 | d0 | d1) < 0) return false;
  return isRealDay(y0 * 1000 + y1 * 100 + y2 * 10 + y3, m0 * 10 + m1, d0 * 10 + d1);
}

function isDate(value: string): boolean {
  return value.length === 10 && startsWithRealDate(value);
}

function isDatetimeWithZone(value: string): boolean {
  return DATETIME_WITH_ZONE.test(value) && startsWithRealDate(value);
}

function isNumber(value: string): boolean {
  return DECIMAL.test(value) && Number.isFinite(Number(value));
}

/** What an observer has learnt, as plain data (it crosses worker boundaries). */
export interface ObserverState {
  boolean: boolean;
  integer: boolean;
  long: boolean;
  number: boolean;
  date: boolean;
  datetime: boolean;
  seen: boolean;
}

export function observerState(observer: TypeObserver): ObserverState {
  return observer.state();
}

/** Candidates still possible for a column; each value can only remove some. */
export class TypeObserver {
  private boolean = true;
  private integer = true;
  private long = false;
  private number = true;
  private date = true;
  private datetime = true;
  private seen = false;
  /** Only `string` is left: nothing more to learn from the column. */
  private settled = false;

  observe(raw: string): void {
    if (this.settled || raw === '') return;
    const value = raw.trim();
    if (value === '') return;
    this.seen = true;
    if (this.boolean && !/^(true|false)$/i.test(value)) this.boolean = false;
    if (this.integer) {
      const width = integerWidth(value);
      if (width === undefined) this.integer = false;
      else if (width === 'long') this.long = true;
    }
    // An integer without leading zeros is a number: the number check only matters once integer is out.
    if (!this.integer && this.number && (!isNumber(value) || LEADING_ZERO.test(value))) this.number = false;
    if (this.date && !isDate(value)) this.date = false;
    if (this.datetime && !isDatetimeWithZone(value)) this.datetime = false;
    this.settled = !(this.boolean || this.integer || this.number || this.date || this.datetime);
  }

  /**
   * Takes in what another observer learnt from other values of the column. Exact: each candidate is a "for
   * all values" (an integer is always a number without leading zeros, so `number` holds for the values seen
   * while `integer` still did), `long` and `seen` are "for some value".
   */
  merge(other: ObserverState): void {
    this.boolean &&= other.boolean;
    this.integer &&= other.integer;
    this.long ||= other.long;
    this.number &&= other.number;
    this.date &&= other.date;
    this.datetime &&= other.datetime;
    this.seen ||= other.seen;
    this.settled = !(this.boolean || this.integer || this.number || this.date || this.datetime);
  }

  state(): ObserverState {
    const { boolean, integer, long, number, date, datetime, seen } = this;
    return { boolean, integer, long, number, date, datetime, seen };
  }

  result(): AepFieldType {
    if (!this.seen) return 'string';
    if (this.boolean) return 'boolean';
    if (this.integer) return this.long ? 'long' : 'integer';
    if (this.number) return 'number';
    if (this.date) return 'date';
    if (this.datetime) return 'datetime';
    return 'string';
  }
}

/** Whether `value` fits a type the manifest declares (TYPE_MISMATCH otherwise). Empty cells always fit. */
export function fitsType(type: AepFieldType, raw: string): boolean {
  const value = raw.trim();
  if (value === '') return true;
  switch (type) {
    case 'string':
      return true;
    case 'boolean':
      return /^(true|false)$/i.test(value);
    case 'integer':
      return integerWidth(value) === 'integer';
    case 'long':
      return integerWidth(value) !== undefined;
    case 'number':
      return isNumber(value);
    case 'date':
      return isDate(value);
    case 'datetime':
      return isDatetimeWithZone(value);
  }
}
