// One HTTP exchange with AEP or IMS (timeout, body decoding, call records), retry timing, and the mapping of
// failed exchanges onto the typed errors of errors.ts.
import { describeAepErrorBody, INVALID_TOKEN_CODE, parseAepErrorBody } from './error-body.ts';
import {
  AepAuthError,
  AepConflictError,
  type AepError,
  type AepErrorDetails,
  AepLimitError,
  AepNotFoundError,
  AepPreconditionFailedError,
  AepRequestError,
  AepResponseError,
  AepRunInProgressError,
  AepUnavailableError,
} from './errors.ts';
import type { AepCallRecord } from './types.ts';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/**
 * Who is calling, on every request: the product, and the execution environment (a Lambda log stream is one
 * container's). A 429's Retry-After binds the client that received it; another container cannot know of it,
 * and AEP (or its stand-in) can tell the two apart by this header.
 */
export const USER_AGENT = `aep-audience-pipeline (${process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? `process ${process.pid}`})`;

export interface AepLogger {
  debug(message: string, fields?: object): void;
  info(message: string, fields?: object): void;
  warn(message: string, fields?: object): void;
}

export interface RetrySettings {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** The longest Retry-After honoured in-process; a longer one fails now, for the state machine to retry. */
  maxRetryAfterMs: number;
}

export interface HttpSettings {
  fetch: typeof fetch;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  random: () => number;
  retry: RetrySettings;
  requestTimeoutMs: number;
  onCall: ((record: AepCallRecord) => void) | undefined;
  logger: AepLogger | undefined;
}

/** What one attempt produced: an HTTP answer, or no answer at all (dropped connection, timeout). */
export type Exchange =
  | {
      kind: 'response';
      status: number;
      /** Decoded JSON, the raw text when it is not JSON, or undefined when empty. */
      body: unknown;
      /** `Retry-After` in ms from now, when AEP sent one we could read. */
      retryAfterMs: number | undefined;
    }
  | { kind: 'network'; timedOut: boolean; cause: unknown; timeoutMs: number };

export interface ExchangeRequest {
  method: HttpMethod;
  /** Full URL; never logged or put in an error. */
  url: string;
  /** The route template for records and messages, e.g. `/data/core/ais/external-audience/{audienceId}/runs`. */
  route: string;
  headers: Record<string, string>;
  body?: string;
  attempt: number;
  /** This request's own timeout, shorter than the client's for a read that must not hold a task up. */
  timeoutMs?: number;
}

/** Statuses that mean "nothing was done, or AEP is down": worth another attempt after a wait. */
const TRANSIENT_STATUSES = new Set([429, 502, 503, 504]);

export type Answer = Extract<Exchange, { kind: 'response' }>;

/** The 2xx answer, or undefined. (Not a type guard: its false branch must still allow other answers.) */
export function successOf(exchange: Exchange): Answer | undefined {
  return exchange.kind === 'response' && exchange.status >= 200 && exchange.status < 300
    ? exchange
    : undefined;
}

export function isThrottled(exchange: Exchange): boolean {
  return exchange.kind === 'response' && exchange.status === 429;
}

/** 502/503/504 or no answer: retryable, and for a write unknown whether it was applied. */
export function isOutage(exchange: Exchange): boolean {
  return exchange.kind === 'network' || (exchange.status !== 429 && TRANSIENT_STATUSES.has(exchange.status));
}

export function isTransient(exchange: Exchange): boolean {
  return isThrottled(exchange) || isOutage(exchange);
}

/** `Retry-After` as delay-seconds or an HTTP-date, in ms from `nowMs`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

/** Removes known secret values (client secret, tokens) from any text before it reaches an error or a log. */
export class SecretScrubber {
  private readonly secrets = new Set<string>();

  add(secret: string | undefined): void {
    if (secret && secret.length >= 4) this.secrets.add(secret);
  }

  scrub(text: string): string;
  scrub(text: string | undefined): string | undefined;
  scrub(text: string | undefined): string | undefined {
    if (text === undefined) return undefined;
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join('[redacted]');
    return out;
  }
}

export class AepHttp {
  /**
   * `METHOD url body` → ms before which that request must not be sent again: the Retry-After of its last 429. Kept
   * per client, and the client per container, so concurrent executions in one process (the local runner, or
   * one warm Lambda's successive invocations) never repeat a throttled request early, not only the attempt
   * that was throttled.
   */
  private readonly throttled = new Map<string, number>();

  constructor(
    readonly settings: HttpSettings,
    readonly scrubber: SecretScrubber,
  ) {}

  /** The last of each identical request (method, URL, body) queued on this client: they go one at a time. */
  private readonly inFlight = new Map<string, Promise<Exchange>>();

  /**
   * Sends once; never throws for HTTP statuses or network failures (they come back as an Exchange). Concurrent
   * callers in one process (executions run side by side) do not send the very same request at the same time:
   * identical requests (the GET of a dataflow several files add to, say) go one after the other, so a 429 and
   * its Retry-After are seen before that request is sent again. Different requests (other bodies) go at once.
   */
  async exchange(request: ExchangeRequest): Promise<Exchange> {
    // The very same request (method, URL and body): what AEP's Retry-After and an independent checker judge.
    const gateKey = `${request.method} ${request.url} ${request.body ?? ''}`;
    const pending = this.inFlight.get(gateKey);
    const queued = pending ? pending.then(() => undefined) : Promise.resolve();
    const sent = queued.then(() => this.send(request, gateKey));
    this.inFlight.set(gateKey, sent);
    try {
      return await sent;
    } finally {
      if (this.inFlight.get(gateKey) === sent) this.inFlight.delete(gateKey);
    }
  }

  private async send(request: ExchangeRequest, gateKey: string): Promise<Exchange> {
    const { fetch, now, onCall } = this.settings;
    const timeoutMs = request.timeoutMs ?? this.settings.requestTimeoutMs;
    const notBefore = this.throttled.get(gateKey);
    if (notBefore !== undefined) {
      const waitMs = notBefore - now();
      if (waitMs > this.settings.retry.maxRetryAfterMs) {
        // Not sent: AEP asked for a longer pause than a Lambda should sleep; the caller fails as for a 429.
        return { kind: 'response', status: 429, body: undefined, retryAfterMs: waitMs };
      }
      if (waitMs > 0) await this.settings.sleep(waitMs);
      this.throttled.delete(gateKey);
    }
    const started = now();
    let exchange: Exchange;
    try {
      const init: RequestInit = {
        method: request.method,
        headers: { 'User-Agent': USER_AGENT, ...request.headers },
        signal: AbortSignal.timeout(timeoutMs),
      };
      if (request.body !== undefined) init.body = request.body;
      const response = await fetch(request.url, init);
      const text = await response.text();
      exchange = {
        kind: 'response',
        status: response.status,
        body: decodeBody(text),
        retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), now()),
      };
    } catch (cause) {
      const timedOut =
        cause instanceof Error && (cause.name === 'TimeoutError' || cause.name === 'AbortError');
      exchange = { kind: 'network', timedOut, cause, timeoutMs };
    }
    if (exchange.kind === 'response' && exchange.status === 429 && exchange.retryAfterMs !== undefined) {
      this.throttled.set(gateKey, Math.max(this.throttled.get(gateKey) ?? 0, now() + exchange.retryAfterMs));
    }
    const record: AepCallRecord = {
      route: request.route,
      method: request.method,
      status: exchange.kind === 'response' ? exchange.status : 'NETWORK_ERROR',
      attempt: request.attempt,
      durationMs: Math.max(0, now() - started),
    };
    this.settings.logger?.debug('AEP call', { ...record });
    onCall?.(record);
    return exchange;
  }

  /**
   * The wait before attempt `failedAttempt + 1`: full jitter over an exponential ceiling, never shorter than
   * `Retry-After`. Undefined when AEP asks for a wait beyond `maxRetryAfterMs`: better to fail now and let the
   * workflow wait than to sleep in a Lambda.
   */
  delayBeforeRetry(failedAttempt: number, retryAfterMs: number | undefined): number | undefined {
    const { baseDelayMs, maxDelayMs, maxRetryAfterMs } = this.settings.retry;
    if (retryAfterMs !== undefined && retryAfterMs > maxRetryAfterMs) return undefined;
    const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (failedAttempt - 1));
    const jittered = Math.floor(this.settings.random() * ceiling);
    return Math.max(jittered, retryAfterMs ?? 0);
  }

  /**
   * After a transient failure of attempt `attempt`: waits and returns true when another attempt is allowed,
   * false when the attempts (or AEP's patience) are spent.
   */
  async waitForRetry(label: string, attempt: number, exchange: Exchange): Promise<boolean> {
    if (attempt >= this.settings.retry.maxAttempts) return false;
    const retryAfterMs = exchange.kind === 'response' ? exchange.retryAfterMs : undefined;
    const delayMs = this.delayBeforeRetry(attempt, retryAfterMs);
    if (delayMs === undefined) return false;
    this.settings.logger?.info('AEP call will be retried', {
      route: label,
      status: exchange.kind === 'response' ? exchange.status : 'NETWORK_ERROR',
      attempt,
      delayMs,
    });
    await this.settings.sleep(delayMs);
    return true;
  }

  /** The typed error for an exchange that failed; `label` is `METHOD /route/template`. */
  errorFor(label: string, exchange: Exchange): AepError {
    if (exchange.kind === 'network') {
      const what = exchange.timedOut
        ? `did not answer within ${exchange.timeoutMs} ms`
        : `could not be reached (${this.scrubber.scrub(errorText(exchange.cause))})`;
      return new AepUnavailableError(`AEP ${label} ${what}`, { route: label, cause: exchange.cause });
    }
    const parsed = parseAepErrorBody(exchange.body);
    const detail = this.scrubber.scrub(describeAepErrorBody(parsed));
    const details: AepErrorDetails = { status: exchange.status, route: label };
    if (parsed.code !== undefined) details.aepCode = parsed.code;
    if (detail !== undefined) details.detail = detail;
    if (exchange.retryAfterMs !== undefined)
      details.retryAfterSeconds = Math.ceil(exchange.retryAfterMs / 1000);
    const message = `AEP ${label} answered ${exchange.status}${parsed.code ? ` (${parsed.code})` : ''}${
      detail ? `: ${detail}` : ''
    }`;
    const { status } = exchange;
    if (status === 401 || status === 403) return new AepAuthError(message, details);
    // Still "invalid token" after the client's fresh one: the credentials, not the file.
    if (parsed.code === INVALID_TOKEN_CODE) return new AepAuthError(message, details);
    if (status === 404) return new AepNotFoundError(message, details);
    if (status === 409) return new AepConflictError(message, details);
    if (status === 412) return new AepPreconditionFailedError(message, details);
    if (status === 422) return unprocessableError(message, parsed.code, detail, details);
    if (status >= 500 || status === 429) return new AepUnavailableError(message, details);
    return new AepRequestError(message, details);
  }
}

/** Parses a 2xx body with its schema; AepResponseError names every field that is missing or malformed. */
export function parseResponse<T>(
  schema: { safeParse(value: unknown): { success: true; data: T } | { success: false; error: ZodLikeError } },
  label: string,
  exchange: Answer,
): T {
  const result = schema.safeParse(exchange.body);
  if (result.success) return result.data;
  const problems = result.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length === 0 ? '(body)' : issue.path.join('.')}: ${issue.message}`)
    .join('; ');
  return throwResponseError(label, exchange.status, problems);
}

interface ZodLikeError {
  issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>;
}

function throwResponseError(label: string, status: number, problems: string): never {
  throw new AepResponseError(`AEP ${label} answered ${status} with an unexpected body: ${problems}`, {
    status,
    route: label,
  });
}

const RUN_IN_PROGRESS =
  /in[ -]progress|already (running|active|started)|active run|another run|currently running|still running/i;
const LIMIT = /limit|maximum|max\b|exceed|guardrail|quota|too many/i;
const DAILY = /per day|daily|a day|per sandbox|sandbox|24 ?h/i;
const PER_AUDIENCE = /per audience|audience|\b10\b/i;

function unprocessableError(
  message: string,
  code: string | undefined,
  detail: string | undefined,
  details: AepErrorDetails,
): AepError {
  if (code !== undefined && code !== '100960') return new AepRequestError(message, details);
  const text = detail ?? '';
  if (RUN_IN_PROGRESS.test(text)) return new AepRunInProgressError(message, details);
  if (LIMIT.test(text) && DAILY.test(text)) return new AepLimitError(message, 'DAILY_RUNS', details);
  if (LIMIT.test(text) && PER_AUDIENCE.test(text))
    return new AepLimitError(message, 'AUDIENCE_RUNS', details);
  return new AepRequestError(message, details);
}

function decodeBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function errorText(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const inner = cause.cause instanceof Error ? `: ${cause.cause.message}` : '';
  return `${cause.message}${inner}`;
}
