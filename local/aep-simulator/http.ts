// Request/response shapes shared by the simulator's handlers, and AEP's three error-body styles.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

export interface SimRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** Path parameters of the matched route template, in order. */
  params: string[];
}

export interface SimResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export function header(req: SimRequest, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

export async function readBody(message: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of message) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function json(status: number, body?: unknown, headers?: Record<string, string>): SimResponse {
  return { status, body, ...(headers ? { headers } : {}) };
}

/**
 * External-audience (ais) errors: RFC-7807-like with the code in `type` and `report.code` (the external
 * audiences doc lists codes, not a body shape: inferred).
 */
export function aisError(code: number, status: number, title: string, detail: string): SimResponse {
  const full = `${code}-${status}`;
  return json(status, {
    type: `https://ns.adobe.com/aep/errors/${full}`,
    title,
    status,
    detail,
    report: { code: full },
  });
}

export const badRequest = (detail: string) => aisError(100910, 400, 'BAD_REQUEST', detail);
export const unprocessable = (title: string, detail: string) => aisError(100960, 422, title, detail);

/** Adobe I/O gateway errors. */
export function gatewayError(status: number, errorCode: string, message: string): SimResponse {
  return json(status, { error_code: errorCode, message });
}

/** Flow Service errors. */
export function flowError(status: number, errorMessage: string, errorDetails: string): SimResponse {
  return json(status, { errorMessage, errorDetails });
}

export function badContentType(): SimResponse {
  return json(400, {
    type: '/placeholder/type/uri',
    status: 400,
    title: 'BadRequestError',
    detail: 'A valid content-type must be specified',
  });
}

export function routeNotFound(method: string, path: string): SimResponse {
  return json(404, {
    type: 'https://ns.adobe.com/aep/errors/404',
    title: 'Not Found',
    status: 404,
    detail: `No route for ${method} ${path}`,
  });
}

/** Parses a JSON body; `undefined` means malformed. */
export function parseJson(raw: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(raw) as unknown };
  } catch {
    return { ok: false };
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
