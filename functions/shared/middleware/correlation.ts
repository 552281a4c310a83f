// The invocation's correlation id (the execution name) on every log line and every metrics blob, as a middy
// middleware placed after Powertools' injectLambdaContext: the logger key it appends is temporary, and that
// middleware (with `resetKeys: true`) removes it when the invocation ends.
import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import type { StructuredLogger } from '../log.ts';
import type { PipelineMetrics } from '../metrics.ts';

export function correlate<E>(
  targets: { logger: StructuredLogger; metrics?: PipelineMetrics },
  correlationIdOf: (event: E) => string,
): MiddlewareObj<E, unknown, Error, Context> {
  return {
    name: 'correlate',
    before: (request) => {
      const correlationId = correlationIdOf(request.event);
      targets.logger.appendKeys({ correlationId });
      // Set on every invocation, so a blob never carries the previous invocation's id.
      targets.metrics?.setCorrelationId(correlationId);
    },
  };
}
