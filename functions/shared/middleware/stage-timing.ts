// What a stage took, as a middy middleware: a line when the task starts and when it finishes, and the
// invocation's duration as the StageDuration metric whether it succeeded or failed.
import type { MiddlewareObj, Request } from '@middy/core';
import type { Context } from 'aws-lambda';
import type { Logger } from '../log.ts';
import { METRIC } from '../metric-names.ts';
import type { PipelineMetrics } from '../metrics.ts';

export function stageTiming<E>(deps: {
  logger: Logger;
  metrics: PipelineMetrics;
  /** Fields of the "task started" line, e.g. the file's key. */
  describe?: (event: E) => Record<string, unknown>;
  now?: () => number;
}): MiddlewareObj<E, unknown, Error, Context> {
  const now = deps.now ?? Date.now;
  // By request: nothing of one invocation's timing can leak into another's.
  const startedAt = new WeakMap<object, number>();
  const elapsed = (request: Request<E, unknown, Error, Context>): number | undefined => {
    const started = startedAt.get(request);
    return started === undefined ? undefined : now() - started;
  };
  return {
    name: 'stageTiming',
    before: (request) => {
      startedAt.set(request, now());
      deps.logger.info('task started', deps.describe?.(request.event) ?? {});
    },
    after: (request) => {
      const durationMs = elapsed(request);
      if (durationMs === undefined) return;
      deps.logger.info('task finished', { durationMs });
      deps.metrics.milliseconds(METRIC.stageDuration, durationMs);
    },
    onError: (request) => {
      // Undefined when an earlier middleware failed before this one started (a malformed event).
      const durationMs = elapsed(request);
      if (durationMs !== undefined) deps.metrics.milliseconds(METRIC.stageDuration, durationMs);
    },
  };
}
