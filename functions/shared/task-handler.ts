// The one way a Task's Lambda handler is built: middy, the task event parsed at the boundary, a logger
// correlated by execution name, and AEP client errors turned into pipeline errors the state machine matches.
import middy from '@middy/core';
import type { z } from 'zod';
import { toPipelineError } from './error-mapping.ts';
import { createLogger, type Logger } from './log.ts';
import { PipelineError } from './pipeline-errors.ts';
import { type TaskEvent, taskEventSchema } from './state.ts';

export interface TaskContext {
  logger: Logger;
  executionName: string;
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
  run: (event: TaskEvent, context: TaskContext) => Promise<R>,
): middy.MiddyfiedHandler<unknown, R> {
  const baseLogger = createLogger({ service });
  return middy<unknown, R>().handler(async (raw: unknown) => {
    const event = parseBoundary(taskEventSchema, raw, 'Task input');
    const logger = baseLogger.child({ correlationId: event.executionName });
    logger.info('task started', { key: event.state.file.key });
    try {
      const result = await run(event, { logger, executionName: event.executionName });
      logger.info('task finished');
      return result;
    } catch (error) {
      const mapped = toPipelineError(error);
      logger.error('task failed', { error: mapped.name, reason: mapped.message });
      throw mapped;
    }
  });
}
