// A stuck object retries every few seconds, and the Temporal worker logs every failed attempt:
// identical lines are let through once per window, then counted, and the next one that gets
// through says how many were dropped (`repeatedSinceLastLog`).
import { DefaultLogger, type LogLevel, type LogMetadata, type Logger } from '@temporalio/worker';

/** Admits a key once per window; counts the repeats in between. */
export class RepeatSuppressor {
  private readonly seen = new Map<string, { until: number; suppressed: number }>();
  constructor(
    private readonly windowMs = 60_000,
    private readonly maxKeys = 2_000,
  ) {}

  /** undefined: drop this line; a number: log it, and that many identical lines were dropped before. */
  admit(key: string, now = Date.now()): number | undefined {
    const s = this.seen.get(key);
    if (s && now < s.until) {
      s.suppressed++;
      return undefined;
    }
    this.seen.delete(key);
    this.seen.set(key, { until: now + this.windowMs, suppressed: 0 });
    if (this.seen.size > this.maxKeys) this.seen.delete(this.seen.keys().next().value!);
    return s?.suppressed ?? 0;
  }
}

function errorText(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  if (typeof e === 'string') return e;
  return e === undefined ? '' : JSON.stringify(e);
}

/** What makes two lines "the same": where they come from and what went wrong, not attempt or time. */
export function repeatKey(level: LogLevel, message: string, meta?: LogMetadata): string {
  const m = meta ?? {};
  return [
    level,
    message,
    m.namespace,
    m.workflowId,
    m.workflowType,
    m.activityType,
    errorText(m.error ?? m.failure),
  ].join('\u0000');
}

const SEVERITY: Record<LogLevel, number> = { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4 };

export class RepeatLimitedLogger implements Logger {
  /**
   * Lines below the inner logger's level are dropped first: the SDK logs every activity start and
   * completion at DEBUG, one key per workflow, which would cost a key each and push the keys of
   * the repeated warnings this logger exists for out of the suppressor.
   */
  private readonly minSeverity: number;

  constructor(
    private readonly inner: Logger = new DefaultLogger('INFO'),
    private readonly filter = new RepeatSuppressor(),
  ) {
    const level = (inner as { level?: LogLevel }).level;
    this.minSeverity = level ? SEVERITY[level] : 0;
  }

  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    if (SEVERITY[level] < this.minSeverity) return;
    const dropped = this.filter.admit(repeatKey(level, message, meta));
    if (dropped === undefined) return;
    this.inner.log(level, message, dropped ? { ...meta, repeatedSinceLastLog: dropped } : meta);
  }
  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}
