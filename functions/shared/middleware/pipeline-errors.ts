// A Task's failure as the state machine matches it, as a middy middleware placed last before the handler so
// its onError runs first: whatever the task threw becomes a pipeline error (error-mapping.ts), is logged
// once, and is what the invocation fails with.
import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { toPipelineError } from '../error-mapping.ts';
import type { Logger } from '../log.ts';

export function pipelineErrors(logger: Logger): MiddlewareObj<unknown, unknown, Error, Context> {
  return {
    name: 'pipelineErrors',
    onError: (request) => {
      const mapped = toPipelineError(request.error);
      logger.error('task failed', { error: mapped.name, reason: mapped.message });
      request.error = mapped;
    },
  };
}
