// Runs an SDK v3 command up to the wire and hands back the signed HTTP request it would send, so the gateway's
// parsing and the action table are tested against exactly what the SDK produces (no server, no network).
import type { IncomingHttpHeaders } from 'node:http';

/** The part of smithy's HttpRequest read here. */
interface HttpRequest {
  method: string;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: unknown;
}

export interface CapturedRequest {
  method: string;
  /** Path and query string, encoded as on the wire. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

class Captured extends Error {
  constructor(readonly request: HttpRequest) {
    super('captured');
  }
}

/** A requestHandler that stops every request at the wire. */
export const captureHandler = {
  async handle(request: HttpRequest): Promise<never> {
    throw new Captured(request);
  },
};

function queryString(query: HttpRequest['query']): string {
  const parts: string[] = [];
  for (const [name, value] of Object.entries(query ?? {})) {
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) {
      parts.push(
        v === null ? encodeURIComponent(name) : `${encodeURIComponent(name)}=${encodeURIComponent(v)}`,
      );
    }
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

function bodyText(body: unknown): string {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  // Through the ArrayBuffer: the SDK's JSON body is a Uint8Array whose valueOf() warns.
  if (body instanceof Uint8Array)
    return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  return '';
}

/** Sends a command through a client built with `requestHandler: captureHandler`. */
export async function capture(send: () => Promise<unknown>): Promise<CapturedRequest> {
  try {
    await send();
  } catch (error) {
    if (error instanceof Captured) {
      const headers: IncomingHttpHeaders = {};
      for (const [name, value] of Object.entries(error.request.headers)) headers[name.toLowerCase()] = value;
      return {
        method: error.request.method,
        url: `${error.request.path}${queryString(error.request.query)}`,
        headers,
        body: bodyText(error.request.body),
      };
    }
    throw error;
  }
  throw new Error('the command was not sent');
}
