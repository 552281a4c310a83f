// Typed errors of the AEP client: retryable (throttling, outages) versus terminal (the request is wrong).
// Knows nothing of AWS or of the pipeline codes; functions/shared/aep-errors-map.ts maps them.

export interface AepErrorDetails {
  /** HTTP status, or undefined for a network failure. */
  status?: number;
  /** AEP's own code when the body carried one: `100960`, `401013`, `FLOW-1439-404`, `invalid_client`. */
  aepCode?: string;
  /** The route, without ids, e.g. `POST /external-audience/`. Never a URL with a token. */
  route?: string;
  /** Parsed title/detail of the error body, for an operator. Never a secret. */
  detail?: string;
  /** Seconds AEP asked us to wait (`Retry-After`), if any. */
  retryAfterSeconds?: number;
  cause?: unknown;
}

export abstract class AepError extends Error {
  abstract readonly retryable: boolean;
  readonly status: number | undefined;
  readonly aepCode: string | undefined;
  readonly route: string | undefined;
  readonly detail: string | undefined;

  constructor(message: string, details: AepErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.status = details.status;
    this.aepCode = details.aepCode;
    this.route = details.route;
    this.detail = details.detail;
  }
}

/** 429, 502, 503, 504 or a network error that outlived the client's own retries. */
export class AepUnavailableError extends AepError {
  readonly retryable = true;
  readonly retryAfterSeconds: number | undefined;
  constructor(message: string, details: AepErrorDetails = {}) {
    super(message, details);
    this.name = 'AepUnavailableError';
    this.retryAfterSeconds = details.retryAfterSeconds;
  }
}

/**
 * A write (create, start run, dataflow PATCH) failed in a way that leaves unknown whether AEP applied it
 * (5xx, timeout, dropped connection) and the client could not find out. Retryable: the next attempt must
 * resolve the ambiguity first, never write blindly.
 */
export class AepAmbiguousWriteError extends AepError {
  readonly retryable = true;
  constructor(message: string, details: AepErrorDetails = {}) {
    super(message, details);
    this.name = 'AepAmbiguousWriteError';
  }
}

/** IMS refused the credentials, or AEP answered 401/403 again after a fresh token. */
export class AepAuthError extends AepError {
  readonly retryable = false;
  constructor(message: string, details: AepErrorDetails = {}) {
    super(message, details);
    this.name = 'AepAuthError';
  }
}

/** A 4xx other than 401/404/409/412/429: the request is wrong (400 `100910`, 422 `100960`…). */
export class AepRequestError extends AepError {
  readonly retryable = false;
  constructor(message: string, details: AepErrorDetails = {}) {
    super(message, details);
    this.name = 'AepRequestError';
  }
}

/**
 * 422 for a run refused because another run of the same audience is in progress. Retryable later: the
 * guardrail is "one active run per audience", not a bad request.
 */
export class AepRunInProgressError extends AepError {
  readonly retryable = true;
  constructor(message: string, details: AepErrorDetails = {}) {
    super(message, details);
    this.name = 'AepRunInProgressError';
  }
}

/** 422 for a spent guardrail: 10 runs per audience, or 100 runs per sandbox and day. */
export class AepLimitError extends AepError {
  readonly retryable = false;
  readonly limit: 'AUDIENCE_RUNS' | 'DAILY_RUNS' | 'UNKNOWN';
  constructor(message: string, limit: AepLimitError['limit'], details: AepErrorDetails = {}) {
    super(message, details);
    this.name = 'AepLimitError';
    this.limit = limit;
  }
}

export class AepNotFoundError extends AepError {
  readonly retryable = false;
  constructor(message: string, details: AepErrorDetails = {}) {
    super(message, details);
    this.name = 'AepNotFoundError';
  }
}

/** 409 `100950`: an audience of this name already exists. */
export class AepConflictError extends AepError {
  readonly retryable = false;
  constructor(message: string, details: AepErrorDetails = {}) {
    super(message, details);
    this.name = 'AepConflictError';
  }
}

/** 412 on a dataflow PATCH that stayed stale after the client's bounded re-GET/re-apply loop. */
export class AepPreconditionFailedError extends AepError {
  readonly retryable = true;
  constructor(message: string, details: AepErrorDetails = {}) {
    super(message, details);
    this.name = 'AepPreconditionFailedError';
  }
}

/** AEP answered 2xx with a body that does not have the documented shape. */
export class AepResponseError extends AepError {
  readonly retryable = false;
  constructor(message: string, details: AepErrorDetails = {}) {
    super(message, details);
    this.name = 'AepResponseError';
  }
}
