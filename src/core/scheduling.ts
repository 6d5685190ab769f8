import { fnv1a } from './names.js';

/**
 * Reconcile delay with a small deterministic jitter (up to 5%, max 5 minutes) derived from the
 * object's uid, so that 10,000 resources created together do not all re-run at the same second.
 */
export function reconcileDelayMs(intervalMs: number, uid: string): number {
  const maxJitter = Math.min(intervalMs * 0.05, 5 * 60_000);
  return Math.round(intervalMs + (fnv1a(uid) / 0xffffffff) * maxJitter);
}

/** Exponential backoff for failed runs: 10s, 20s, 40s ... capped at 10 minutes (and at the interval). */
export function failureBackoffMs(consecutiveFailures: number, intervalMs: number, baseMs = 10_000): number {
  const exp = baseMs * 2 ** Math.max(0, consecutiveFailures - 1);
  return Math.min(exp, 10 * 60_000, intervalMs);
}

/** Per-key retry delay of the controller's work queue: base · 2^(failures-1), capped. */
export function requeueDelayMs(failures: number, baseMs = 250, maxMs = 60_000): number {
  return Math.min(baseMs * 2 ** Math.max(0, failures - 1), maxMs);
}

/**
 * Restart delays of a watch: doubling from `baseMs` to `maxMs`. A watch that (re)connects and then
 * fails again soon is still failing: the delay resets only after it stayed healthy for
 * `healthyMs` (a `connect` alone does not count; the API server may accept and drop it at once).
 */
export class WatchBackoff {
  private delayMs: number;
  private connectedAt: number | undefined;

  constructor(
    private readonly baseMs = 1000,
    private readonly maxMs = 30_000,
    private readonly healthyMs = 30_000,
  ) {
    this.delayMs = baseMs;
  }

  connected(now: number): void {
    this.connectedAt = now;
  }

  /** The delay before the next restart, after a failure at `now`. */
  failed(now: number): number {
    if (this.connectedAt !== undefined && now - this.connectedAt >= this.healthyMs)
      this.delayMs = this.baseMs;
    this.connectedAt = undefined;
    const delay = this.delayMs;
    this.delayMs = Math.min(this.delayMs * 2, this.maxMs);
    return delay;
  }
}
