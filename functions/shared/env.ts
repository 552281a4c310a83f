// Reads a function's configuration from its environment once, failing fast with the variable's name.
import type * as z from 'zod';
import { PipelineError } from './pipeline-errors.ts';

/**
 * Parses the environment with a zod object schema. A missing or bad variable throws
 * PipelineError('CONFIG_INVALID') naming the variable, never echoing its value (it may be sensitive).
 */
export function readEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const name = issue.path.length ? String(issue.path[0]) : '(environment)';
    return `${name} (${issue.message})`;
  });
  throw new PipelineError(
    'CONFIG_INVALID',
    `Environment variable ${problems.join(', ')} is missing or invalid`,
  );
}

/** For `z.preprocess(jsonEnv, …)`: a JSON-valued variable parsed before zod checks its shape. */
export function jsonEnv(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    // Left as the raw string: the schema then reports the variable as invalid, by name.
    return value;
  }
}

/** For `z.preprocess(booleanEnv, z.boolean())`: only the strings `true` and `false` are accepted. */
export function booleanEnv(value: unknown): unknown {
  if (value === 'true') return true;
  if (value === 'false') return false;
  return value;
}
