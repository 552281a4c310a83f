// Pipeline error codes: the `Error` a task throws, matched by the state machine's Retry/Catch (lib/) and
// reported to users (docs/contracts.md#pipeline-error-codes). One module, imported by the functions and by
// the infrastructure.

/** Codes of a wrong file or request: caught into HandleFailure; the fix is a new upload. */
export const CAUGHT_ERROR_CODES = [
  'VALIDATION_FAILED',
  'MANIFEST_INVALID',
  'MANIFEST_MISSING',
  'TEAM_UNKNOWN',
  'AEP_REQUEST_REJECTED',
  'AEP_OPERATION_FAILED',
  'AEP_RUN_FAILED',
  'AEP_DAILY_RUN_LIMIT',
  'AEP_AUDIENCE_RUN_LIMIT',
  'ACTIVATION_FAILED',
  'CONFIG_INVALID',
] as const;

/**
 * Caught codes that say the uploaded file or its manifest is wrong: the uploader's to fix, so graphed per drop
 * prefix (FilesRejected) and never paged. The other caught codes (an AEP refusal, a spent guardrail, the stack's
 * configuration) are not the file's fault and are left out.
 */
export const REJECTED_FILE_CODES = [
  'VALIDATION_FAILED',
  'MANIFEST_INVALID',
  'MANIFEST_MISSING',
  'TEAM_UNKNOWN',
] as const satisfies readonly CaughtErrorCode[];

/**
 * Codes of something outside being down or busy: retried by the state machine, then left uncaught so the
 * execution fails at the task and can be redriven there once the outage is over.
 */
export const RETRYABLE_ERROR_CODES = ['AEP_UNAVAILABLE', 'AEP_BUSY'] as const;

/**
 * Uncaught and not retried: AEP refuses the credentials. An operator fixes the secret and redrives.
 * Also the code the execution-status rule reports for an execution that failed outside HandleFailure.
 */
export const UNCAUGHT_ERROR_CODES = ['AEP_AUTH_FAILED', 'AEP_POLL_LIMIT'] as const;

/** Lambda service errors worth retrying at the task level (AWS's recommended list). */
export const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
] as const;

export type CaughtErrorCode = (typeof CAUGHT_ERROR_CODES)[number];
export type RetryableErrorCode = (typeof RETRYABLE_ERROR_CODES)[number];
export type UncaughtErrorCode = (typeof UNCAUGHT_ERROR_CODES)[number];
export type PipelineErrorCode = CaughtErrorCode | RetryableErrorCode | UncaughtErrorCode;

/**
 * An error a task throws on purpose. Its `name` is the pipeline code, so Step Functions sees it as the
 * `Error` (Lambda reports `errorType` from `name`), and its message is what an operator reads as `Cause`.
 * Messages must never hold a secret, a token or an unmasked row value.
 */
export class PipelineError extends Error {
  readonly code: PipelineErrorCode;

  constructor(code: PipelineErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = code;
  }
}

export function isCaughtCode(code: string): code is CaughtErrorCode {
  return (CAUGHT_ERROR_CODES as readonly string[]).includes(code);
}

export function isRejectedFileCode(code: string): boolean {
  return (REJECTED_FILE_CODES as readonly string[]).includes(code);
}

/**
 * An execution's error that the state machine retried before giving up: the outage codes and Lambda's service
 * errors. An execution that ends with one ran out of retries.
 */
export function isRetriedCode(code: string): boolean {
  return ([...RETRYABLE_ERROR_CODES, ...LAMBDA_SERVICE_ERRORS] as readonly string[]).includes(code);
}

/**
 * The readable message inside a Step Functions error `Cause`. Locally the Cause is the bare message; in AWS a
 * Lambda error's Cause is a JSON string `{"errorType","errorMessage","trace"}`. Both are accepted.
 */
export function causeMessage(cause: unknown): string {
  if (typeof cause !== 'string') return cause == null ? '' : String(cause);
  const trimmed = cause.trim();
  if (trimmed.startsWith('{')) {
    try {
      const parsed = JSON.parse(trimmed) as { errorMessage?: unknown };
      if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
    } catch {
      // not JSON after all: the bare message
    }
  }
  return cause;
}
