// A pipeline that starts as a local activity (inside its lifecycle's workflow task) and is still
// running after its executor's budget is handed over without being stopped: the local activity
// returns, the workflow task completes (signals and queries are answered again), and the regular
// activity the workflow schedules next takes the run over here: it heartbeats, shows as a pending
// activity in the Web UI and can be cancelled, as a run that started as one.

import type { PipelineRunOutcome } from '../src/executors/types.js';

export interface RunProgress {
  container: string;
  index: number;
}

/** How one running pipeline is stopped and watched, by whichever activity owns it now. */
export class RunControl {
  readonly startedAt: number;
  private readonly stop = new AbortController();
  private readonly deadline = new AbortController();
  /** Stops the executor: the owner's cancellation, the pipeline's timeout, or an orphaned run. */
  readonly signal: AbortSignal;
  private readonly timer: NodeJS.Timeout;
  private orphaned = false;
  private ownerCancelRequested: () => boolean = () => false;
  private onProgress: (p: RunProgress) => void = () => undefined;
  private unlink: () => void = () => undefined;

  constructor(timeoutMs: number, now: () => number = Date.now) {
    this.startedAt = now();
    this.signal = AbortSignal.any([this.stop.signal, this.deadline.signal]);
    this.timer = setTimeout(() => this.deadline.abort(), Math.max(0, timeoutMs));
  }

  /** Owned by an activity: its cancellation stops the run, the run's progress goes to its heartbeat. */
  bind(cancellation: AbortSignal, cancelRequested: () => boolean, progress: (p: RunProgress) => void): void {
    this.unbind();
    const onAbort = () => this.stop.abort();
    if (cancellation.aborted) onAbort();
    else cancellation.addEventListener('abort', onAbort, { once: true });
    this.unlink = () => cancellation.removeEventListener('abort', onAbort);
    this.ownerCancelRequested = cancelRequested;
    this.onProgress = progress;
  }

  /** Let go by a local activity that hands the run over: its end must not stop the run. */
  unbind(): void {
    this.unlink();
    this.unlink = () => undefined;
    this.ownerCancelRequested = () => false;
    this.onProgress = () => undefined;
  }

  progress(p: RunProgress): void {
    this.onProgress(p);
  }

  /** The pipeline's own timeout stopped it (not a cancellation). */
  timedOut(): boolean {
    return this.deadline.signal.aborted && !this.stop.signal.aborted;
  }

  /**
   * After `signal` fired: whether the run is over for good (its containers are stopped), as
   * opposed to an attempt abandoned while a retry may take it over (PipelineRunRequest).
   */
  cancelRequested(): boolean {
    return this.timedOut() || this.orphaned || this.ownerCancelRequested();
  }

  /** No activity came for it: stop it for good. */
  abandon(): void {
    this.orphaned = true;
    this.stop.abort();
  }

  /** The run is over: its timeout timer goes. */
  end(): void {
    clearTimeout(this.timer);
  }
}

interface HandedOff {
  control: RunControl;
  done: Promise<PipelineRunOutcome>;
  orphanTimer: NodeJS.Timeout;
}

/** Runs handed over by local activities, waiting for their regular activity, by run key. */
export class HandedOffRuns {
  private readonly runs = new Map<string, HandedOff>();

  /**
   * @param orphanAfterMs a run no activity takes within this long is stopped: its workflow went
   *   another way (deleted or superseded meanwhile) or its activity runs on another worker, which
   *   resumes the run from its folder.
   */
  constructor(private readonly orphanAfterMs = 60_000) {}

  put(key: string, control: RunControl, done: Promise<PipelineRunOutcome>): void {
    // Settled or not, the outcome is the taker's; until then nothing may report it unhandled.
    done.catch(() => undefined);
    this.runs.get(key)?.control.abandon();
    const orphanTimer = setTimeout(() => {
      if (this.runs.get(key)?.control !== control) return;
      this.runs.delete(key);
      control.abandon();
      void done.finally(() => control.end()).catch(() => undefined);
    }, this.orphanAfterMs);
    orphanTimer.unref();
    this.runs.set(key, { control, done, orphanTimer });
  }

  /** The run handed over under this key, once; undefined if none (another worker, a restart). */
  take(key: string): { control: RunControl; done: Promise<PipelineRunOutcome> } | undefined {
    const e = this.runs.get(key);
    if (!e) return undefined;
    this.runs.delete(key);
    clearTimeout(e.orphanTimer);
    return { control: e.control, done: e.done };
  }

  get size(): number {
    return this.runs.size;
  }
}
