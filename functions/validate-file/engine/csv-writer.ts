// RFC 4180 output: a field is quoted when it holds a comma, a quote, CR or LF; quotes are doubled.

/** Whether a field needs quotes: a char scan, faster than a regex on the short cells of a CSV row. */
export function needsQuotes(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    // , " \n \r
    if (c === 44 || c === 34 || c === 10 || c === 13) return true;
  }
  return false;
}

export function csvField(value: string): string {
  return needsQuotes(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export function csvLine(values: readonly string[]): string {
  return `${values.map(csvField).join(',')}\n`;
}
