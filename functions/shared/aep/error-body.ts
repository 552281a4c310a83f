// Reads AEP's error bodies, whose shape varies by service, into one code/title/detail triple
// (docs/aep.md#conventions-and-error-shapes).

export interface AepErrorBody {
  /** AEP's code without the `-<status>` suffix of numeric codes: `100960`, `401013`, `FLOW-1439-404`, `invalid_client`. */
  code?: string;
  title?: string;
  detail?: string;
}

const MAX_TEXT = 500;

/** The external audiences API's "invalid token" code, answered with a 400 (see isInvalidToken in client.ts). */
export const INVALID_TOKEN_CODE = '100911';
/** A code as the last segment of an RFC-7807 `type`: `FLOW-1439-404`, `100960-422`, `100960`. */
const TYPE_CODE = /^(?:[A-Z][A-Z0-9_]*-\d+(?:-\d{3})?|\d{4,}(?:-\d{3})?)$/;

function text(value: unknown): string | undefined {
  if (typeof value === 'string') {
    const trimmed = value.trim();
    return trimmed === '' ? undefined : trimmed;
  }
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** `100960-422` → `100960`; other codes (`FLOW-1439-404`, `invalid_scope`) stay as they are. */
export function normalizeAepCode(code: string): string {
  const numericWithStatus = /^(\d+)-\d{3}$/.exec(code.trim());
  return numericWithStatus?.[1] ?? code.trim();
}

function codeFromType(type: string | undefined): string | undefined {
  if (!type) return undefined;
  const last = type.split(/[/#:]/).pop() ?? '';
  return TYPE_CODE.test(last) ? last : undefined;
}

function truncate(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value.length > MAX_TEXT ? `${value.slice(0, MAX_TEXT)}…` : value;
}

/**
 * Parses a JSON error body (already decoded) or a raw text body. Accepts RFC-7807 (`type`, `title`, `detail`,
 * `report.code`, `report.detailed-message`), `{error_code, message}`, `{errorMessage, errorDetails}` and IMS's
 * OAuth shape `{error, error_description}`.
 */
export function parseAepErrorBody(body: unknown): AepErrorBody {
  if (typeof body === 'string') {
    const raw = text(body);
    return raw === undefined ? {} : { detail: truncate(raw.replace(/\s+/g, ' ')) };
  }
  const obj = record(body);
  if (!obj) return {};
  const report = record(obj['report']);
  const rawCode =
    text(report?.['code']) ??
    text(obj['error_code']) ??
    codeFromType(text(obj['type'])) ??
    text(obj['code']) ??
    text(obj['error']);
  const errorDetails = obj['errorDetails'];
  const title = text(obj['title']) ?? text(obj['errorMessage']) ?? text(obj['message']);
  const detail =
    text(obj['detail']) ??
    text(report?.['detailed-message']) ??
    text(obj['error_description']) ??
    text(errorDetails) ??
    (record(errorDetails) ? JSON.stringify(errorDetails) : undefined);
  const result: AepErrorBody = {};
  if (rawCode !== undefined) result.code = normalizeAepCode(rawCode);
  const shortTitle = truncate(title);
  const shortDetail = truncate(detail === title ? undefined : detail);
  if (shortTitle !== undefined) result.title = shortTitle;
  if (shortDetail !== undefined) result.detail = shortDetail;
  return result;
}

/** `title: detail`, or whichever of the two exists. */
export function describeAepErrorBody(parsed: AepErrorBody): string | undefined {
  const parts = [parsed.title, parsed.detail].filter((part): part is string => part !== undefined);
  return parts.length === 0 ? undefined : parts.join(': ');
}
