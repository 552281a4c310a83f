// The event parsed at the boundary, as a middy middleware: the handler gets the schema's output, a malformed
// event fails the invocation with CONFIG_INVALID naming the first bad path (never the value).
import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import type * as z from 'zod';
import { PipelineError } from '../pipeline-errors.ts';

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

/** Replaces the raw event with its parsed form; `what` names it in the error ("Task input"). */
export function parseEvent<S extends z.ZodType>(
  schema: S,
  what: string,
): MiddlewareObj<z.infer<S>, unknown, Error, Context> {
  return {
    name: 'parseEvent',
    before: (request) => {
      request.event = parseBoundary(schema, request.event as unknown, what);
    },
  };
}
