// Masking of personal data for reports and logs: enough left to recognise a value, not to read it.

/** `alice@example.com` → `a***@e***`; `+33612345678` → `+33***78`; other text → first char + `***`. */
export function maskValue(value: string): string {
  const v = value.trim();
  if (v === '') return '';
  const at = v.indexOf('@');
  if (at >= 0) {
    const local = v.slice(0, at);
    const domain = v.slice(at + 1);
    return `${local.slice(0, 1)}***@${domain.slice(0, 1)}***`;
  }
  if (/^[+\d][\d\s().-]{5,}$/.test(v)) {
    const digits = v.replace(/[^\d+]/g, '');
    return `${digits.slice(0, 3)}***${digits.slice(-2)}`;
  }
  return `${v.slice(0, 1)}***`;
}

/** A quoted part of a message: "…", '…' or “…”. */
const QUOTED = /"([^"\n]*)"|'([^'\n]*)'|“([^”\n]*)”/g;
const EMAIL = /[^\s@"'“”<>()[\]{},;:=]+@[^\s@"'“”<>()[\]{},;:=]+/g;
/** Seven digits or more, standalone (not inside a code like INGEST-1212-400 or an id like 9830305a-…). */
const LONG_NUMBER = /(?<![\w-])\+?\d(?:[\d\s().-]{5,}\d)(?![\w-])/g;

function digitCount(text: string): number {
  return text.replace(/\D/g, '').length;
}

/**
 * Free text from elsewhere (an AEP failure reason) that may quote a value of the data: each quoted part,
 * e-mail address and long number is masked with maskValue, the rest (codes, counts, field names outside
 * quotes) kept.
 */
export function maskFreeText(text: string): string {
  return text
    .replace(QUOTED, (whole, double?: string, single?: string, curly?: string) => {
      const inner = double ?? single ?? curly ?? '';
      const quote = whole.slice(0, 1);
      const close = whole.slice(-1);
      return inner.trim() === '' ? whole : `${quote}${maskValue(inner)}${close}`;
    })
    .replace(EMAIL, (email) => maskValue(email))
    .replace(LONG_NUMBER, (number) => (digitCount(number) >= 7 ? maskValue(number) : number));
}
