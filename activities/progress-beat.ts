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
 * Heartbeats `send` every `everyMs` with the latest progress, the first after `everyMs` (well
 * inside the 15 s heartbeat timeout); progress reported after that is sent at once.
 */
export function startProgressBeat(
  send: (details: PipelineProgress) => void,
  pipeline: string,
  everyMs = 2000,
): ProgressBeat {
  let latest: PipelineProgress = { pipeline };
  let beating = false;
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
