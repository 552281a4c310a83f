// Structured JSON logging, one line per event, with the execution name as correlation id: Powertools Logger
// underneath (its line format, log level handling and Lambda context keys), our small interface on top.
// Callers pass values already masked (mask.ts); keys that look like secrets are redacted here as a safety net.
// Every line goes through one sink: stdout in Lambda, a file per execution in the local runner.
import { type LogItem, Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';

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

/** Where loggers without their own sink write. The local runner sends task logs to a file with it. */
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

/**
 * Whether the invocation being served is this execution environment's first. Powertools keeps a cold-start
 * flag per logger instance, and every child it makes (one per invocation here, for the correlation id)
 * starts with its own, so each would say `cold_start: true`; the module is per environment, as the flag must be.
 */
let coldStartInvocation: boolean | undefined;
let invocationsServed = 0;

/** Powertools Logger printing through a sink instead of its own console; its children inherit the sink. */
class SinkLogger extends PowertoolsLogger {
  sink: LogSink | undefined;

  protected override printLog(_logLevel: number, log: LogItem): void {
    log.prepareForPrint();
    const attributes = log.getAttributes();
    if ('cold_start' in attributes && coldStartInvocation !== undefined) {
      attributes.cold_start = coldStartInvocation;
    }
    (this.sink ?? defaultSink)(JSON.stringify(log.getAttributes(), this.getJsonReplacer()));
  }

  protected override createLogger(options?: ConstructorParameters<typeof PowertoolsLogger>[0]): SinkLogger {
    const child = new SinkLogger(options);
    child.sink = this.sink;
    return child;
  }
}

/** Our Logger over one Powertools instance. */
export class StructuredLogger implements Logger {
  constructor(private readonly powertools: PowertoolsLogger) {}

  debug(message: string, fields?: Record<string, unknown>): void {
    this.powertools.debug(message, redact(fields ?? {}) as Record<string, unknown>);
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.powertools.info(message, redact(fields ?? {}) as Record<string, unknown>);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.powertools.warn(message, redact(fields ?? {}) as Record<string, unknown>);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.powertools.error(message, redact(fields ?? {}) as Record<string, unknown>);
  }
  child(fields: Record<string, unknown>): StructuredLogger {
    return new StructuredLogger(
      this.powertools.createChild({ persistentKeys: redact(fields) as Record<string, string> }),
    );
  }
  /** Adds the invocation's keys (request id, cold start, function name) to every following line. */
  addContext(context: Context): void {
    this.powertools.addContext(context);
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
    persistentKeys: redact(options.fields ?? {}) as Record<string, string>,
  });
  powertools.sink = options.sink;
  return new StructuredLogger(powertools);
}

/** The invocation's logger: correlated by execution name, with the Lambda context keys when there is one. */
export function invocationLogger(
  base: StructuredLogger,
  executionName: string,
  lambdaContext: Context | undefined,
): StructuredLogger {
  const logger = base.child({ correlationId: executionName });
  // The local runner passes a context too; a unit test calling the handler bare may not.
  if (lambdaContext?.awsRequestId) {
    invocationsServed += 1;
    coldStartInvocation = invocationsServed === 1;
    logger.addContext(lambdaContext);
  }
  return logger;
}
