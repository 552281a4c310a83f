// The one way a Task's Lambda handler is built: a middy chain with the task function last. Powertools'
// middlewares put the Lambda context on the logger and flush the metrics; ours parse the task event at the
// boundary, correlate lines and metrics by execution name, time the stage, and turn errors into the
// pipeline errors the state machine matches (counting those that map to no code as faults).
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { createLogger, type Logger } from './log.ts';
import { PipelineMetrics } from './metrics.ts';
import { correlate } from './middleware/correlation.ts';
import { parseEvent } from './middleware/parse-event.ts';
import { pipelineErrors } from './middleware/pipeline-errors.ts';
import { stageTiming } from './middleware/stage-timing.ts';
import { type TaskEvent, taskEventSchema } from './state.ts';

export interface TaskContext {
  logger: Logger;
  executionName: string;
}

/** What a handler's wiring gets besides the task logic's context: metrics, the execution's ARN. */
export interface HandlerContext extends TaskContext {
  metrics: PipelineMetrics;
  executionArn: string | undefined;
}

export function taskHandler<R>(
  service: string,
  run: (event: TaskEvent, context: HandlerContext) => Promise<R>,
): middy.MiddyfiedHandler<TaskEvent, R, Error, Context> {
  // One logger and one metrics instance per execution environment, as Powertools' middlewares expect.
  const logger = createLogger({ service });
  const metrics = new PipelineMetrics(service);
  // Order matters: `before` runs top down, `after` and `onError` bottom up, so the error is mapped and logged
  // first, the metrics flushed next, and the logger's keys reset last.
  return middy<TaskEvent, R, Error, Context>()
    .use(injectLambdaContext(logger.powertools, { resetKeys: true }))
    .use(parseEvent(taskEventSchema, 'Task input'))
    .use(correlate({ logger, metrics }, (event: TaskEvent) => event.executionName))
    .use(logMetrics(metrics))
    .use(stageTiming({ logger, metrics, describe: (event: TaskEvent) => ({ key: event.state.file.key }) }))
    .use(pipelineErrors({ logger, metrics }))
    .handler((event) =>
      run(event, { logger, metrics, executionName: event.executionName, executionArn: event.executionArn }),
    );
}
