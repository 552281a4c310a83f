// Structured JSON logging, one line per event, with the execution name as correlation id: Powertools Logger
// underneath (its line format, log level handling, and the Lambda context keys its injectLambdaContext
// middleware adds), our small interface on top. Callers pass values already masked (mask.ts); keys that look
// like secrets are redacted here as a safety net. Every line goes through one sink: stdout in Lambda (the
// local runner reads each function's stdout), a function of their own in tests and the CLI.
import { type LogItem, Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

const SECRET_KEY = /secret|token|password|authorization|api[-_]?key|credential/i;

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger whose lines also carry these fields (e.g. `{ correlationId: executionName }`). */
  child(fields: Record<string, unknown>): Logger;
}

export type LogSink = (line: string) => void;

let defaultSink: LogSink = (line) => process.stdout.write(`${line}\n`);

/** Where loggers without their own sink write. Tests and the CLI capture task logs with it. */
export function setDefaultLogSink(sink: LogSink): void {
  defaultSink = sink;
}

/** Writes a line that is already JSON (an EMF metrics blob) where log lines go. */
export function writeLogLine(line: string): void {
  defaultSink(line);
}

function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value))
    out[k] = SECRET_KEY.test(k) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

function redactFields(fields: Record<string, unknown> | undefined): Record<string, unknown> {
  return redact(fields ?? {}) as Record<string, unknown>;
}

/** Powertools Logger printing through a sink instead of its own console. */
class SinkLogger extends PowertoolsLogger {
  sink: LogSink | undefined;

  protected override printLog(_logLevel: number, log: LogItem): void {
    log.prepareForPrint();
    (this.sink ?? defaultSink)(JSON.stringify(log.getAttributes(), this.getJsonReplacer()));
  }
}

/**
 * Our Logger over one Powertools instance per function module. Children share that instance and add their
 * fields to each line: a Powertools child logger keeps a cold-start flag of its own, so every child made
 * during an invocation would print `cold_start: true`.
 */
export class StructuredLogger implements Logger {
  constructor(
    /** The instance Powertools' middlewares take (`injectLambdaContext(logger.powertools, …)`). */
    readonly powertools: PowertoolsLogger,
    private readonly fields: Record<string, unknown> = {},
  ) {}

  private with(fields: Record<string, unknown> | undefined): Record<string, unknown> {
    return { ...this.fields, ...redactFields(fields) };
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    this.powertools.debug(message, this.with(fields));
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.powertools.info(message, this.with(fields));
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.powertools.warn(message, this.with(fields));
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.powertools.error(message, this.with(fields));
  }
  child(fields: Record<string, unknown>): StructuredLogger {
    return new StructuredLogger(this.powertools, this.with(fields));
  }
  /**
   * Adds these fields to every line of the instance until its keys are reset: `injectLambdaContext` with
   * `resetKeys: true` does that at the end of each invocation.
   */
  appendKeys(fields: Record<string, unknown>): void {
    this.powertools.appendKeys(redactFields(fields));
  }
}

export function createLogger(options: {
  service: string;
  level?: LogLevel;
  sink?: LogSink;
  fields?: Record<string, unknown>;
}): StructuredLogger {
  const level = options.level ?? (process.env.LOG_LEVEL as LogLevel | undefined) ?? 'INFO';
  const powertools = new SinkLogger({
    serviceName: options.service,
    logLevel: level,
    persistentKeys: redactFields(options.fields) as Record<string, string>,
  });
  powertools.sink = options.sink;
  return new StructuredLogger(powertools);
}
