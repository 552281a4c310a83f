// The one way a Task's Lambda handler is built: middy, the task event parsed at the boundary, a logger
// correlated by execution name, metrics flushed once per invocation, and AEP client errors turned into
// pipeline errors the state machine matches.
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type * as z from 'zod';
import { toPipelineError } from './error-mapping.ts';
import { createLogger, invocationLogger, type Logger } from './log.ts';
import { METRIC } from './metric-names.ts';
import { PipelineMetrics } from './metrics.ts';
import { PipelineError } from './pipeline-errors.ts';
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

/** Parse `input` with `schema`, or throw a PipelineError naming the first bad path (never the value). */
export function parseBoundary<S extends z.ZodType>(schema: S, input: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue?.path.length ? issue.path.join('.') : '(root)';
  throw new PipelineError(
    'CONFIG_INVALID',
    `${what} is malformed at ${path}: ${issue?.message ?? 'invalid'}`,
  );
}

export function taskHandler<R>(
  service: string,
  run: (event: TaskEvent, context: HandlerContext) => Promise<R>,
): middy.MiddyfiedHandler<unknown, R, Error, Context> {
  const baseLogger = createLogger({ service });
  const metrics = new PipelineMetrics(service);
  return middy<unknown, R, Error, Context>().handler(async (raw: unknown, lambdaContext: Context) => {
    const started = Date.now();
    const event = parseBoundary(taskEventSchema, raw, 'Task input');
    const { executionName, executionArn } = event;
    const logger = invocationLogger(baseLogger, executionName, lambdaContext);
    logger.info('task started', { key: event.state.file.key });
    try {
      const result = await run(event, { logger, executionName, executionArn, metrics });
      logger.info('task finished', { durationMs: Date.now() - started });
      return result;
    } catch (error) {
      const mapped = toPipelineError(error);
      logger.error('task failed', { error: mapped.name, reason: mapped.message });
      throw mapped;
    } finally {
      metrics.milliseconds(METRIC.stageDuration, Date.now() - started);
      metrics.flush(executionName);
    }
  });
}
