// RFC 4180 output: a field is quoted when it holds a comma, a quote, CR or LF; quotes are doubled.

export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export function csvLine(values: readonly string[]): string {
  return `${values.map(csvField).join(',')}\n`;
}
