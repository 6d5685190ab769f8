// Group commit for state-store writes: one commit and push carries every write that queued while
// the previous one ran. Pure queueing; what a batch does (git) is the caller's.

export interface GroupCommitOptions {
  /** Most items in one batch. */
  maxBatch: number;
  /**
   * Under load, how long the oldest queued item may wait for company (ms) before its batch starts,
   * counted from its arrival: a batch that follows a grouped one starts when full or when its
   * oldest item has waited this long (usually already, behind the previous batch). A push costs
   * about the same for one write or fifty (~100 ms of CPU in git processes on a 2-core machine),
   * so under load this bounds pushes to about one per `lingerMs`. A write that arrives alone, or
   * after a batch of one, never waits.
   */
  lingerMs: number;
  /**
   * While lingering, how long without a new item ends the wait early (ms): company that stopped
   * coming (a burst's last writes, or a trickle) is not waited for. Well above the gaps between
   * writes in a burst (tens of ms), so batches there still fill for the whole `lingerMs`.
   */
  quietMs: number;
}

/**
 * How long to wait before taking the next batch (ms): only after a batch that grouped writes, only
 * while the queue is not full, only until the oldest item has waited `lingerMs`, and only while
 * items keep arriving (the newest came less than `quietMs` ago).
 */
export function lingerBeforeBatch(
  lastBatch: number,
  pending: number,
  waited: { oldestMs: number; newestMs: number },
  o: GroupCommitOptions,
): number {
  if (lastBatch <= 1 || pending >= o.maxBatch) return 0;
  return Math.max(0, Math.min(o.lingerMs - waited.oldestMs, o.quietMs - waited.newestMs));
}

interface Entry<T, R> {
  item: T;
  /** performance.now() at arrival. */
  at: number;
  resolve: (r: R) => void;
  reject: (err: unknown) => void;
}

/**
 * A queue whose items are handled in batches, one batch at a time, in arrival order. Each item's
 * promise settles with its batch's result.
 */
export class GroupCommit<T, R> {
  private pending: Entry<T, R>[] = [];
  private running = false;
  /** Wakes a lingering drain when an item arrives, to decide again. */
  private wake?: () => void;

  constructor(
    private readonly o: GroupCommitOptions,
    private readonly commit: (batch: T[]) => Promise<R>,
  ) {}

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, at: performance.now(), resolve, reject });
      this.wake?.();
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      let last = 0;
      while (this.pending.length > 0) {
        // Each arrival wakes the wait to decide again (full now? still worth waiting?).
        for (;;) {
          const now = performance.now();
          const waited = { oldestMs: now - this.pending[0]!.at, newestMs: now - this.pending.at(-1)!.at };
          const wait = lingerBeforeBatch(last, this.pending.length, waited, this.o);
          if (wait <= 0) break;
          await this.linger(wait);
        }
        const batch = this.pending.splice(0, this.o.maxBatch);
        last = batch.length;
        try {
          const result = await this.commit(batch.map((e) => e.item));
          for (const e of batch) e.resolve(result);
        } catch (err) {
          for (const e of batch) e.reject(err);
        }
      }
    } finally {
      this.running = false;
    }
  }

  private linger(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
