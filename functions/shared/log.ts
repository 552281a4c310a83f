// Structured JSON logging, one line per event, with the execution name as correlation id.
// Callers pass values already masked (mask.ts); keys that look like secrets are redacted here as a safety net.

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

const LEVELS: Record<LogLevel, number> = { DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40 };
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

function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value))
    out[k] = SECRET_KEY.test(k) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

export function createLogger(options: {
  service: string;
  level?: LogLevel;
  sink?: LogSink;
  fields?: Record<string, unknown>;
}): Logger {
  const threshold = LEVELS[options.level ?? (process.env.LOG_LEVEL as LogLevel | undefined) ?? 'INFO'] ?? 20;
  const sink: LogSink = (line) => (options.sink ?? defaultSink)(line);
  const base = { service: options.service, ...options.fields };
  const write = (level: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (LEVELS[level] < threshold) return;
    const entry = {
      level,
      timestamp: new Date().toISOString(),
      message,
      ...base,
      ...(redact(fields) as object),
    };
    sink(JSON.stringify(entry));
  };
  return {
    debug: (m, f) => write('DEBUG', m, f),
    info: (m, f) => write('INFO', m, f),
    warn: (m, f) => write('WARN', m, f),
    error: (m, f) => write('ERROR', m, f),
    child: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}
