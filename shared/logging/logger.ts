import { redact } from './redact.js';

/** Cloud Logging severities we emit, lowest first. */
export const SEVERITIES = ['DEBUG', 'INFO', 'NOTICE', 'WARNING', 'ERROR', 'CRITICAL', 'ALERT'] as const;
export type Severity = (typeof SEVERITIES)[number];
export type LogContext = Record<string, unknown>;

export interface Logger {
  debug(event: string, context?: LogContext): void;
  info(event: string, context?: LogContext): void;
  notice(event: string, context?: LogContext): void;
  warn(event: string, context?: LogContext): void;
  error(event: string, context?: LogContext): void;
  /** Operator alerts: money is at risk and a human must look (alerting policies match on CRITICAL). */
  critical(event: string, context?: LogContext): void;
  /** A logger that adds `bindings` (messageId, paymentId, trace fields…) to every line; the child's win on a clash. */
  child(bindings: LogContext): Logger;
}

export interface LoggerOptions {
  /** Receives each line without its newline. Default: `process.stdout`, one line per event. */
  write?: (line: string) => void;
  /** `json` (default): one Cloud Logging JSON object per line. `pretty`: `HH:MM:SS INFO  event key=value`, local time. */
  format?: 'json' | 'pretty';
  /** Lines below this severity are dropped. Default `DEBUG` (the root `logger` uses LOG_LEVEL, else `INFO`). */
  minSeverity?: Severity;
  /** Fields added to every line. */
  bindings?: LogContext;
}

const RANK: Record<Severity, number> = { DEBUG: 0, INFO: 1, NOTICE: 2, WARNING: 3, ERROR: 4, CRITICAL: 5, ALERT: 6 };

/** Keys of our own that context may not overwrite; a clashing context key is kept as `context.<key>`. */
const RESERVED_KEYS = new Set(['severity', 'message', 'time']);
const CLOUD_LOGGING_PREFIX = 'logging.googleapis.com/';

/** The severity named by `text` (any case, surrounding spaces ignored), or `undefined`. */
export function parseSeverity(text: string): Severity | undefined {
  const upper = text.trim().toUpperCase();
  return SEVERITIES.find((severity) => severity === upper);
}

function isRecord(value: unknown): value is LogContext {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function eventName(event: unknown): string {
  return String(redact(typeof event === 'string' ? event : String(event)));
}

function formatJson(severity: Severity, event: string, fields: LogContext, time: Date): string {
  const record: LogContext = { severity, message: eventName(event), time: time.toISOString() };
  for (const [key, value] of Object.entries(fields)) record[RESERVED_KEYS.has(key) ? `context.${key}` : key] = value;
  return JSON.stringify(record);
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

function prettyValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value !== 'object' || value === null) return String(value);
  return JSON.stringify(value);
}

/** `TransientError[database_unavailable]: The database is unreachable`, from an already redacted error. */
function prettyError(serialized: unknown): string {
  if (!isRecord(serialized)) return prettyValue(serialized);
  const code = serialized.code === undefined ? '' : `[${String(serialized.code)}]`;
  return JSON.stringify(`${String(serialized.name)}${code}: ${String(serialized.message)}`);
}

function formatPretty(severity: Severity, event: string, fields: LogContext, raw: LogContext, time: Date): string {
  const clock = `${pad2(time.getHours())}:${pad2(time.getMinutes())}:${pad2(time.getSeconds())}`;
  let line = `${clock} ${severity.padEnd(5)} ${eventName(event)}`;
  for (const [key, value] of Object.entries(fields)) {
    // Trace ids help in Cloud Logging and are noise at a terminal.
    if (value === undefined || key.startsWith(CLOUD_LOGGING_PREFIX)) continue;
    line += ` ${key}=${raw[key] instanceof Error ? prettyError(value) : prettyValue(value)}`;
  }
  return line;
}

/** Written when a line cannot be built (a throwing `toJSON`, a hostile Proxy): the event is not lost. */
function fallbackLine(severity: Severity, event: string, failure: unknown, time: Date): string {
  let safeEvent = 'unknown';
  try {
    safeEvent = eventName(event);
  } catch {
    // keep 'unknown'
  }
  const reason = failure instanceof Error ? failure.name : typeof failure;
  return JSON.stringify({
    severity,
    message: safeEvent,
    time: time.toISOString(),
    loggingFailure: `context could not be serialized (${reason})`,
  });
}

interface Sink {
  write: (line: string) => void;
  format: 'json' | 'pretty';
  minRank: number;
}

function buildLogger(sink: Sink, bindings: LogContext): Logger {
  const emit = (severity: Severity, event: string, context: LogContext | undefined): void => {
    if (RANK[severity] < sink.minRank) return;
    const time = new Date();
    let line: string;
    try {
      const raw: LogContext = { ...bindings, ...(context === undefined ? {} : isRecord(context) ? context : { context }) };
      const fields = redact(raw) as LogContext;
      line = sink.format === 'pretty' ? formatPretty(severity, event, fields, raw, time) : formatJson(severity, event, fields, time);
    } catch (failure) {
      line = fallbackLine(severity, event, failure, time);
    }
    try {
      sink.write(line);
    } catch {
      // A logger must never throw into business code; there is nowhere left to report this.
    }
  };
  return {
    debug: (event, context) => emit('DEBUG', event, context),
    info: (event, context) => emit('INFO', event, context),
    notice: (event, context) => emit('NOTICE', event, context),
    warn: (event, context) => emit('WARNING', event, context),
    error: (event, context) => emit('ERROR', event, context),
    critical: (event, context) => emit('CRITICAL', event, context),
    child: (childBindings) => buildLogger(sink, { ...bindings, ...(isRecord(childBindings) ? childBindings : {}) }),
  };
}

function writeStdout(line: string): void {
  process.stdout.write(`${line}\n`);
}

/**
 * A structured logger: one line per event, `message` = the dot.case event name, bindings and context
 * merged into the line and redacted (see `redact`). Never throws. Production code uses the root
 * `logger` and its children; build one with a custom `write` in tests.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const sink: Sink = {
    write: options.write ?? writeStdout,
    format: options.format ?? 'json',
    minRank: RANK[options.minSeverity ?? 'DEBUG'],
  };
  return buildLogger(sink, { ...(options.bindings ?? {}) });
}

// The one environment read outside `shared/config`: logging must work before (and when) config fails.
const logLevelText = process.env.LOG_LEVEL?.trim();
const logLevel = logLevelText ? parseSeverity(logLevelText) : undefined;

/**
 * The process-wide root logger: stdout; JSON lines for Cloud Logging, or pretty lines when stdout is
 * a terminal; minimum severity from LOG_LEVEL (read once at import), `INFO` when unset or invalid.
 */
export const logger: Logger = createLogger({
  format: process.stdout.isTTY ? 'pretty' : 'json',
  minSeverity: logLevel ?? 'INFO',
});

if (logLevelText && !logLevel) {
  logger.warn('logging.invalid_log_level', { variable: 'LOG_LEVEL', expected: SEVERITIES.join('|'), using: 'INFO' });
}
