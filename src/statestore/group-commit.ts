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
}

/**
 * How long to wait before taking the next batch (ms): only after a batch that grouped writes, only
 * while the queue is not full, and only until the oldest item has waited `lingerMs`.
 */
export function lingerBeforeBatch(
  lastBatch: number,
  pending: number,
  oldestWaitedMs: number,
  o: GroupCommitOptions,
): number {
  if (lastBatch <= 1 || pending >= o.maxBatch) return 0;
  return Math.max(0, o.lingerMs - oldestWaitedMs);
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
  /** Wakes a lingering drain when the queue fills up. */
  private wake?: () => void;

  constructor(
    private readonly o: GroupCommitOptions,
    private readonly commit: (batch: T[]) => Promise<R>,
  ) {}

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, at: performance.now(), resolve, reject });
      if (this.pending.length >= this.o.maxBatch) this.wake?.();
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      let last = 0;
      while (this.pending.length > 0) {
        const waited = performance.now() - this.pending[0]!.at;
        const wait = lingerBeforeBatch(last, this.pending.length, waited, this.o);
        if (wait > 0) await this.linger(wait);
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
