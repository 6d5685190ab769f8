// Heartbeats of a running pipeline. The server writes every heartbeat it receives (the SDK sends an
// activity's first one at once, later ones at most every 80 % of the heartbeat timeout), so a run
// that ends within its first interval sends none: most local runs take well under a second.

/** What a heartbeat carries: the pipeline, and the container running now once one started. */
export interface PipelineProgress {
  pipeline: string;
  container?: string;
  index?: number;
}

export interface ProgressBeat {
  /** A container started: later heartbeats name it (at once if the run already heartbeats). */
  progress(p: { container: string; index: number }): void;
  stop(): void;
}

/**
 * Heartbeats `send` every `everyMs` with the latest progress, the first after `everyMs` (inside
 * the 15 s heartbeat timeout with 10 s to spare); progress reported after that is sent at once.
 * 5 s, not 2: in a burst a run waits seconds for CPU and for company in its git push, and each
 * heartbeat is a Temporal request and a write of the workflow's state (README, Benchmarks).
 */
export function startProgressBeat(
  send: (details: PipelineProgress) => void,
  pipeline: string,
  opts: { everyMs?: number; immediately?: boolean } = {},
): ProgressBeat {
  const everyMs = opts.everyMs ?? 5000;
  let latest: PipelineProgress = { pipeline };
  let beating = false;
  // A run taken over from a local activity has run for seconds: it beats from the start.
  if (opts.immediately) {
    beating = true;
    send(latest);
  }
  const timer = setInterval(() => {
    beating = true;
    send(latest);
  }, everyMs);
  return {
    progress(p) {
      latest = { pipeline, container: p.container, index: p.index };
      if (beating) send(latest);
    },
    stop() {
      clearInterval(timer);
    },
  };
}
