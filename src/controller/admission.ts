// Admission of new objects' first runs. A burst of new Resources (10,000 created at once) would
// otherwise start every lifecycle at once: all their workflow and activity tasks then queue in
// Temporal together, and on the dev server that backlog spills into its database and misses its
// caches, so completions fell from ~9/s (1,000 at once) to under 2/s (9,000 at once). Admitting
// a bounded number at a time keeps the backlog in the controller, where waiting costs nothing,
// and the rest of the system at its best rate. Slots free up as runs finish (the object's status
// says so) or after `holdMs`, so runs that wait long (a Promise not yet available, a slow
// pipeline) never block newer objects for more than that.

export interface AdmissionOptions {
  /** First runs started and not yet finished, at most. */
  limit: number;
  /** A slot is given back after this long even if its run has not finished. */
  holdMs: number;
  now?: () => number;
  /** Told the number of waiting objects whenever it changes (the admission gauge). */
  onWaiting?: (waiting: number) => void;
}

export class Admission {
  /** uid → when it was admitted; insertion order is admission order. */
  private readonly admitted = new Map<string, number>();
  /** uid → how to hand it back to the work queue; insertion order is arrival order. */
  private readonly waiting = new Map<string, () => void>();
  /** uid → when it was handed back: a slot is kept for it until it comes (or holdMs passes). */
  private readonly woken = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly opts: AdmissionOptions) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * True if `uid` may start its run now (it then holds a slot). Otherwise it waits in line, and
   * `requeue` (the latest one given) is called when a slot is free for it.
   */
  admit(uid: string, requeue: () => void): boolean {
    if (this.admitted.has(uid)) return true;
    this.expire();
    if (this.woken.delete(uid) || (this.waiting.size === 0 && this.free() > 0)) {
      this.admitted.set(uid, this.now());
      return true;
    }
    const before = this.waiting.size;
    this.waiting.set(uid, requeue);
    this.report(before);
    return false;
  }

  /** The object's run finished, it needs none, or it is gone: its slot goes to the next in line. */
  done(uid: string): void {
    const before = this.waiting.size;
    this.waiting.delete(uid);
    const held = this.admitted.delete(uid) || this.woken.delete(uid);
    if (held) this.wake();
    this.report(before);
  }

  /** Gives back slots held longer than `holdMs` and hands free slots to waiting objects. */
  tick(): void {
    const before = this.waiting.size;
    this.expire();
    this.wake();
    this.report(before);
  }

  get inFlight(): number {
    return this.admitted.size;
  }

  get waitingCount(): number {
    return this.waiting.size;
  }

  private free(): number {
    return this.opts.limit - this.admitted.size - this.woken.size;
  }

  private expire(): void {
    const before = this.now() - this.opts.holdMs;
    for (const map of [this.admitted, this.woken])
      for (const [uid, at] of map) {
        if (at > before) break;
        map.delete(uid);
      }
  }

  private report(before: number): void {
    if (this.waiting.size !== before) this.opts.onWaiting?.(this.waiting.size);
  }

  /** The longest waiting objects, one per free slot, go back to the work queue. */
  private wake(): void {
    for (const [uid, requeue] of this.waiting) {
      if (this.free() <= 0) break;
      this.waiting.delete(uid);
      this.woken.set(uid, this.now());
      requeue();
    }
  }
}
