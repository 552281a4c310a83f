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
