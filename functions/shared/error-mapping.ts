// Maps the AEP client's typed errors onto the pipeline codes that the state machine retries or catches.
import {
  AepAmbiguousWriteError,
  AepAuthError,
  AepError,
  AepLimitError,
  AepPreconditionFailedError,
  AepRunInProgressError,
  AepUnavailableError,
} from './aep/errors.ts';
import { PipelineError } from './pipeline-errors.ts';

/** The client's messages already name the route and status (`AEP POST /… answered 422 (100960): …`). */
function describe(error: AepError): string {
  return error.message;
}

/** A PipelineError for anything a task throws. Errors already mapped pass through unchanged. */
export function toPipelineError(error: unknown): Error {
  if (error instanceof PipelineError) return error;
  if (error instanceof AepError) {
    if (error instanceof AepUnavailableError || error instanceof AepAmbiguousWriteError) {
      return new PipelineError('AEP_UNAVAILABLE', `AEP is unavailable: ${describe(error)}`, { cause: error });
    }
    if (error instanceof AepRunInProgressError || error instanceof AepPreconditionFailedError) {
      return new PipelineError('AEP_BUSY', `AEP is busy: ${describe(error)}`, { cause: error });
    }
    if (error instanceof AepAuthError) {
      return new PipelineError(
        'AEP_AUTH_FAILED',
        `AEP refused the pipeline's credentials: ${describe(error)}. Check the secret, then redrive.`,
        { cause: error },
      );
    }
    if (error instanceof AepLimitError) {
      const code = error.limit === 'DAILY_RUNS' ? 'AEP_DAILY_RUN_LIMIT' : 'AEP_AUDIENCE_RUN_LIMIT';
      return new PipelineError(code, `AEP guardrail reached: ${describe(error)}`, { cause: error });
    }
    return new PipelineError('AEP_REQUEST_REJECTED', `AEP rejected the request: ${describe(error)}`, {
      cause: error,
    });
  }
  return error instanceof Error ? error : new Error(String(error));
}
