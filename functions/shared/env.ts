// Reads a function's configuration from its environment once, failing fast with the variable's name.
import type { z } from 'zod';
import { PipelineError } from './pipeline-errors.ts';

export function readEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const name = issue?.path.join('.') ?? '(environment)';
  throw new PipelineError(
    'CONFIG_INVALID',
    `Environment variable ${name} is missing or invalid: ${issue?.message}`,
  );
}

/** A JSON-valued environment variable, parsed before zod checks its shape. */
export function jsonEnv(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}
