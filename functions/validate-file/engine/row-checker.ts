// The per-row hot path (docs/contracts.md#validation-rules-and-codes): checks compiled once per column from
// the header, then applied to each
// row's array of cells with no per-row objects on the good path. Values are masked only when a row is bad.
import type { AepFieldType } from '../../shared/aep/types.ts';
import { maskValue } from '../../shared/mask.ts';
import type { Column, ValidationIssue } from './columns.ts';
import { csvField, needsQuotes } from './csv-writer.ts';
import { hashingCheckFor, identityCheckFor } from './identities.ts';
import { fitsType, type TypeObserver } from './inference.ts';

interface CompiledColumn {
  name: string;
  /** Set for identity columns: the namespace and its check. */
  identityNs: string | undefined;
  normalize: ((raw: string) => string | undefined) | undefined;
  expected: string;
  /** Set for columns whose type the manifest declares. */
  declared: AepFieldType | undefined;
  /** Set for columns whose type is inferred (neither identity nor declared). */
  observer: TypeObserver | undefined;
}

export class RowChecker {
  private readonly columns: CompiledColumn[];
  /** The current row's staged values (normalized identities), reused from row to row. */
  private readonly values: string[];
  /**
   * Whether the row `check` just passed stages as its cells were read (identities already normalized): then
   * its bytes, when they hold no quote, are already its canonical line (record-range.ts).
   */
  verbatim = false;

  constructor(columns: readonly Column[]) {
    this.columns = columns.map((c) => {
      const check = c.hashedFrom
        ? hashingCheckFor(c.hashedFrom)
        : c.identityNs
          ? identityCheckFor(c.identityNs)
          : undefined;
      return {
        name: c.name,
        identityNs: c.identityNs,
        normalize: check?.normalize,
        expected: check?.expected ?? '',
        declared: c.identityNs ? undefined : c.declared,
        // Identity columns are strings and declared types win: only the others need inference.
        observer: c.identityNs || c.declared ? undefined : c.observer,
      };
    });
    this.values = new Array<string>(columns.length).fill('');
  }

  /** The row's problems, or undefined when it is good (its staged values are then ready for `stage`). */
  check(record: readonly string[], row: number): ValidationIssue[] | undefined {
    const columns = this.columns;
    if (record.length !== columns.length) {
      return [
        {
          row,
          column: null,
          code: 'ROW_WIDTH_MISMATCH',
          message: `row ${row} has ${record.length} cells; the header has ${columns.length}`,
        },
      ];
    }
    let issues: ValidationIssue[] | undefined;
    let identityFound = false;
    let verbatim = true;
    for (let i = 0; i < columns.length; i++) {
      const column = columns[i]!;
      const value = record[i]!;
      if (column.normalize) {
        if (value === '' || value.trim() === '') {
          this.values[i] = '';
          if (value !== '') verbatim = false;
          continue;
        }
        const normalized = column.normalize(value);
        if (normalized === undefined) {
          issues ??= [];
          issues.push({
            row,
            column: column.name,
            code: 'INVALID_IDENTITY',
            message: `row ${row}, column "${column.name}": "${maskValue(value)}" ${column.expected}`,
          });
        } else {
          identityFound = true;
          this.values[i] = normalized;
          if (normalized !== value) verbatim = false;
        }
      } else {
        if (column.declared && !fitsType(column.declared, value)) {
          issues ??= [];
          const type = column.declared;
          issues.push({
            row,
            column: column.name,
            code: 'TYPE_MISMATCH',
            message: `row ${row}, column "${column.name}": "${maskValue(value)}" is not ${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`,
          });
        }
        this.values[i] = value;
      }
    }
    if (issues) return issues;
    this.verbatim = verbatim;
    if (!identityFound)
      return [{ row, column: null, code: 'MISSING_IDENTITY', message: `row ${row} has no identity value` }];
    return undefined;
  }

  /** The row `check` just passed is accepted: feeds type inference and counts identities. */
  accept(identities: Record<string, number>): void {
    const columns = this.columns;
    for (let i = 0; i < columns.length; i++) {
      const column = columns[i]!;
      if (column.observer) column.observer.observe(this.values[i]!);
      else if (column.identityNs && this.values[i] !== '')
        identities[column.identityNs] = (identities[column.identityNs] ?? 0) + 1;
    }
  }

  /** The staged line of the row `check` just passed, re-serialized. */
  line(): string {
    const values = this.values;
    for (let i = 0; i < values.length; i++) {
      // Most rows need no quotes: one native join instead of a string built cell by cell.
      if (needsQuotes(values[i]!)) return `${values.map(csvField).join(',')}\n`;
    }
    return `${values.join(',')}\n`;
  }
}
