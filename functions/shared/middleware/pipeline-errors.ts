// A Task's failure as the state machine matches it, as a middy middleware placed last before the handler so
// its onError runs first: whatever the task threw becomes a pipeline error (error-mapping.ts), is logged
// once, and is what the invocation fails with. An error that maps to no pipeline code is a fault (a bug, an
// SDK refusal, a malformed event) and is counted as TaskFaults, the metric operators are paged on; a coded
// error, even one thrown to be retried (AEP_BUSY, AEP_UNAVAILABLE), is how a task reports on purpose.
import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { toPipelineError } from '../error-mapping.ts';
import type { Logger } from '../log.ts';
import { METRIC } from '../metric-names.ts';
import type { PipelineMetrics } from '../metrics.ts';
import { PipelineError } from '../pipeline-errors.ts';

export function pipelineErrors(deps: {
  logger: Logger;
  metrics: PipelineMetrics;
}): MiddlewareObj<unknown, unknown, Error, Context> {
  return {
    name: 'pipelineErrors',
    onError: (request) => {
      const mapped = toPipelineError(request.error);
      const fault = !(mapped instanceof PipelineError);
      // Counted before logMetrics' onError flushes the invocation's metrics (it runs after this one).
      if (fault) deps.metrics.count(METRIC.taskFaults);
      deps.logger.error('task failed', { error: mapped.name, reason: mapped.message, fault });
      request.error = mapped;
    },
  };
}
