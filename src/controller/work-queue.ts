import { requeueDelayMs } from '../core/scheduling.js';
import { logger } from '../logger.js';

export interface WorkQueueOptions {
  /** Keys processed at the same time (different keys only: one key is never processed twice at once). */
  concurrency?: number;
  /** First retry delay after a failure; doubles per consecutive failure of the same key. */
  baseRetryMs?: number;
  maxRetryMs?: number;
  /** Called with the new depth whenever it changes (metrics). */
  onDepth?: (depth: number) => void;
  /** Called on each handler failure (metrics). */
  onFailure?: () => void;
}

/**
 * A keyed work queue in the manner of controller-runtime's: events for the same key collapse to the
 * newest item, a key is handled by one worker at a time, and a failed key is retried with per-key
 * exponential backoff until it succeeds or a newer item replaces it. Nothing a watch delivered is
 * dropped because a handler failed once (e.g. Temporal or the API server briefly unavailable).
 */
export class WorkQueue<T> {
  private readonly latest = new Map<string, T>();
  private readonly ready: string[] = [];
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();
  private readonly idleWaiters: (() => void)[] = [];
  private stopped = false;
  private readonly concurrency: number;
  private readonly baseRetryMs: number;
  private readonly maxRetryMs: number;
  private readonly onDepth?: (depth: number) => void;
  private readonly onFailure?: () => void;

  constructor(
    private readonly name: string,
    private readonly handle: (key: string, item: T) => Promise<void>,
    opts: WorkQueueOptions = {},
  ) {
    this.concurrency = opts.concurrency ?? 8;
    this.baseRetryMs = opts.baseRetryMs ?? 250;
    this.maxRetryMs = opts.maxRetryMs ?? 60_000;
    this.onDepth = opts.onDepth;
    this.onFailure = opts.onFailure;
  }

  /** Queues `item` for `key`, replacing any item of that key that has not started yet. */
  add(key: string, item: T): void {
    if (this.stopped) return;
    this.latest.set(key, item);
    // New information is worth acting on now, not after the backoff of an older failure.
    this.cancelRetry(key);
    this.enqueue(key);
    this.onDepth?.(this.depth);
  }

  /** Items waiting, retrying or being handled. */
  get depth(): number {
    return this.latest.size + this.active.size;
  }

  /** Resolves once nothing is queued, retrying or running (tests and graceful shutdown). */
  idle(): Promise<void> {
    if (this.depth === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops what is queued and resolves once the handlers already running have finished. */
  stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.retryTimers.values()) clearTimeout(t);
    this.retryTimers.clear();
    this.ready.length = 0;
    this.queued.clear();
    this.latest.clear();
    this.notifyIdle();
    return this.idle();
  }

  private enqueue(key: string): void {
    if (this.queued.has(key) || this.active.has(key)) return; // picked up when the active run ends
    this.queued.add(key);
    this.ready.push(key);
    this.pump();
  }

  private cancelRetry(key: string): void {
    const t = this.retryTimers.get(key);
    if (t) clearTimeout(t);
    this.retryTimers.delete(key);
  }

  private pump(): void {
    while (!this.stopped && this.active.size < this.concurrency && this.ready.length > 0) {
      const key = this.ready.shift()!;
      this.queued.delete(key);
      const item = this.latest.get(key);
      if (item === undefined) continue;
      this.latest.delete(key);
      this.active.add(key);
      void this.process(key, item);
    }
  }

  private async process(key: string, item: T): Promise<void> {
    try {
      await this.handle(key, item);
      this.failures.delete(key);
    } catch (err) {
      this.onFailure?.();
      const failures = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, failures);
      // A newer item for the key supersedes this one; otherwise retry this one later.
      if (!this.stopped && !this.latest.has(key)) {
        this.latest.set(key, item);
        const delay = requeueDelayMs(failures, this.baseRetryMs, this.maxRetryMs);
        logger.warn(
          { queue: this.name, key, failures, retryInMs: delay, err: String(err) },
          'handler failed; will retry',
        );
        this.retryTimers.set(
          key,
          setTimeout(() => {
            this.retryTimers.delete(key);
            this.enqueue(key);
          }, delay),
        );
      }
    } finally {
      this.active.delete(key);
      if (this.latest.has(key) && !this.retryTimers.has(key)) this.enqueue(key);
      this.pump();
      this.onDepth?.(this.depth);
      this.notifyIdle();
    }
  }

  private notifyIdle(): void {
    if (this.depth !== 0) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }
}
