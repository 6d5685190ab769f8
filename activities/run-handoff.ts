// A folded run's start step reads the object, and its first pipeline (dispatched eagerly to the same
// worker a few milliseconds later) needs the same object: the start step hands its copy over
// instead of the pipeline reading it again (one GET less per run). Only within this process, only
// once, only for a short while: a pipeline on another worker, a retry or a late start reads the
// API server as before. What the copy may miss in those milliseconds is what a read would also
// soon be behind on: a spec change supersedes the run anyway, and status is merge-patched.

/** Objects waiting for their run's first pipeline, by run id. */
export class RunHandoff<T> {
  private readonly waiting = new Map<string, { value: T; at: number }>();

  constructor(
    private readonly ttlMs = 10_000,
    private readonly max = 1_000,
    private readonly now: () => number = Date.now,
  ) {}

  put(runId: string, value: T): void {
    this.expire();
    this.waiting.delete(runId);
    // Bounded: runs whose pipeline went elsewhere never take theirs.
    if (this.waiting.size >= this.max) this.waiting.delete(this.waiting.keys().next().value!);
    this.waiting.set(runId, { value, at: this.now() });
  }

  /** The object handed over for this run, once; undefined if none, taken or expired. */
  take(runId: string): T | undefined {
    const e = this.waiting.get(runId);
    if (!e) return undefined;
    this.waiting.delete(runId);
    return this.now() - e.at <= this.ttlMs ? e.value : undefined;
  }

  get size(): number {
    return this.waiting.size;
  }

  private expire(): void {
    const cutoff = this.now() - this.ttlMs;
    // Insertion order is age order.
    for (const [k, e] of this.waiting) {
      if (e.at >= cutoff) break;
      this.waiting.delete(k);
    }
  }
}
