// A pipeline's Running status, written only if it is still running after a moment. Most local runs
// finish in a fraction of a second: their start and completion then go out as one status patch
// (one write less for the API server, etcd and every watch of the object), and nobody could have
// seen a Running phase that lasted less than a second anyway.

/** How long a pipeline's containers run before its Running status is written. */
export const RUNNING_STATUS_DELAY_MS = 1000;
/**
 * Once its containers succeeded, how long (from its start) the output may take to reach the state
 * store before the Running status is written after all: a group commit under load takes seconds,
 * and a slow remote should still show that the run is in progress.
 */
export const OUTPUT_WRITE_GRACE_MS = 5000;

export class DeferredStatusWrite {
  private timer: ReturnType<typeof setTimeout>;
  private sent?: Promise<void>;
  private carried = false;
  private readonly startedAt: number;

  constructor(
    private readonly write: () => Promise<void>,
    delayMs = RUNNING_STATUS_DELAY_MS,
    now = Date.now(),
  ) {
    this.startedAt = now;
    this.timer = this.due(delayMs);
  }

  private due(ms: number): ReturnType<typeof setTimeout> {
    // A failed write is seen by whoever awaits flush() or hold() (the activity is retried).
    return setTimeout(() => void this.flush().catch(() => undefined), ms);
  }

  /** Not written yet: write it `sinceStartMs` after the start instead (never sooner than now). */
  postpone(sinceStartMs: number, now = Date.now()): void {
    if (this.sent || this.carried) return;
    clearTimeout(this.timer);
    this.timer = this.due(Math.max(0, this.startedAt + sinceStartMs - now));
  }

  /** Writes it now unless it was written or carried already; resolves once it is written. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    if (this.carried) return Promise.resolve();
    this.sent ??= this.write();
    return this.sent;
  }

  /**
   * Stops the timer. True: nothing was written, and the caller's next patch must carry it (then
   * call carriedBy()); false: it was written (this waits for it) and the caller patches as usual.
   */
  async hold(): Promise<boolean> {
    clearTimeout(this.timer);
    if (this.sent) {
      await this.sent;
      return false;
    }
    return !this.carried;
  }

  /** The caller's patch that carried it succeeded: never write it. */
  carriedBy(): void {
    this.carried = true;
  }
}
