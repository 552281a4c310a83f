// A small EventBridge event-pattern matcher (exact values, prefix, suffix, nested fields), enough for the
// rules this stack defines, so the local trigger filters events with the synthesized rule itself.

type Pattern = Record<string, unknown>;

function matchesValue(rule: unknown, value: unknown): boolean {
  if (rule !== null && typeof rule === 'object') {
    const r = rule as Record<string, unknown>;
    if (typeof r.prefix === 'string') return typeof value === 'string' && value.startsWith(r.prefix);
    if (typeof r.suffix === 'string') return typeof value === 'string' && value.endsWith(r.suffix);
    if ('exists' in r) return (value !== undefined) === Boolean(r.exists);
    return false;
  }
  return rule === value;
}

export function matchesEventPattern(pattern: Pattern, event: Record<string, unknown>): boolean {
  for (const [field, rule] of Object.entries(pattern)) {
    const value = event[field];
    if (Array.isArray(rule)) {
      if (!rule.some((r) => matchesValue(r, value))) return false;
    } else if (rule !== null && typeof rule === 'object') {
      if (value === null || typeof value !== 'object') return false;
      if (!matchesEventPattern(rule as Pattern, value as Record<string, unknown>)) return false;
    } else if (rule !== value) {
      return false;
    }
  }
  return true;
}
