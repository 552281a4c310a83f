// Type inference over all values of a column (DESIGN §3): empty cells ignored, the narrowest AEP type that
// fits every value, else string. Incremental: one observer per column, fed value by value.
import type { AepFieldType } from '../../shared/aep/types.ts';

const INTEGER = /^[+-]?(0|[1-9]\d*)$/;
const DECIMAL = /^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$/;
const DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
const DATETIME_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;
const INT32_MAX = 2 ** 31 - 1;
const INT32_MIN = -(2 ** 31);

/** Candidates still possible for a column; each value can only remove some. */
export class TypeObserver {
  private boolean = true;
  private integer = true;
  private long = false;
  private number = true;
  private date = true;
  private datetime = true;
  private seen = false;

  observe(raw: string): void {
    const value = raw.trim();
    if (value === '') return;
    this.seen = true;
    if (this.boolean && !/^(true|false)$/i.test(value)) this.boolean = false;
    if (this.integer) {
      if (!INTEGER.test(value)) this.integer = false;
      else {
        const n = Number(value);
        if (n > INT32_MAX || n < INT32_MIN) this.long = true;
        if (!Number.isSafeInteger(n)) this.integer = false;
      }
    }
    if (this.number && (!DECIMAL.test(value) || /^[+-]?0\d/.test(value))) this.number = false;
    if (this.date && (!DATE.test(value) || Number.isNaN(Date.parse(value)))) this.date = false;
    if (this.datetime && (!DATETIME_WITH_ZONE.test(value) || Number.isNaN(Date.parse(value))))
      this.datetime = false;
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
      return INTEGER.test(value) && Number(value) <= INT32_MAX && Number(value) >= INT32_MIN;
    case 'long':
      return INTEGER.test(value) && Number.isSafeInteger(Number(value));
    case 'number':
      return DECIMAL.test(value);
    case 'date':
      return DATE.test(value) && !Number.isNaN(Date.parse(value));
    case 'datetime':
      return DATETIME_WITH_ZONE.test(value) && !Number.isNaN(Date.parse(value));
  }
}
