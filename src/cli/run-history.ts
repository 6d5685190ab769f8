// One run (a configureRun or deleteRun execution) as `kratix-temporal runs` shows it, from its
// visibility entry and the few history events that matter. Pure: payloads arrive decoded.

export interface RawRun {
  workflowId: string;
  runId: string;
  type: string;
  /** Visibility status name: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT… */
  status: string;
  startTime?: string;
  closeTime?: string;
  /** The run's input (ConfigureRunInput): why it ran, for which generation. */
  input?: { reason?: string; generation?: number };
  /** The run's result (ConfigureRunResult). */
  result?: { outcome?: string };
  /** The innermost failure message of a failed run. */
  failure?: string;
  /** runPipeline activities in the order they were scheduled. */
  pipelines: { name: string; state: 'running' | 'completed' | 'failed'; failure?: string }[];
}

export interface RunInfo {
  /** "3" for configure run 3, "delete" / "delete 2" for delete attempts. */
  run: string;
  action: 'configure' | 'delete';
  reason: string;
  generation?: number;
  /** succeeded, failed, running, superseded, gone, cancelled, terminated, timed out. */
  outcome: string;
  startTime?: string;
  closeTime?: string;
  durationMs?: number;
  /** The pipeline running now, or the one that failed. */
  pipeline?: string;
  container?: string;
  message?: string;
  workflowId: string;
  runId: string;
  webUrl?: string;
}

/** `…/configure/3` → "3"; `…/delete` → "delete"; `…/delete/2` → "delete 2". */
export function runLabel(workflowId: string): { run: string; action: 'configure' | 'delete' } {
  const c = /\/configure\/(\d+)$/.exec(workflowId);
  if (c) return { run: c[1]!, action: 'configure' };
  const d = /\/delete(?:\/(\d+))?$/.exec(workflowId);
  if (d) return { run: d[1] ? `delete ${d[1]}` : 'delete', action: 'delete' };
  return { run: workflowId, action: 'configure' };
}

/** Pipeline and container named in a failure message (`Pipeline "x" failed: container "y" …`). */
export function parseFailure(message: string | undefined): { pipeline?: string; container?: string } {
  if (!message) return {};
  const pipeline = /Pipeline "([^"]+)" failed/.exec(message)?.[1];
  const container = /container "([^"]+)"/.exec(message)?.[1];
  return { ...(pipeline ? { pipeline } : {}), ...(container ? { container } : {}) };
}

const OUTCOME: Record<string, string> = {
  RUNNING: 'running',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  TERMINATED: 'terminated',
  TIMED_OUT: 'timed out',
  CONTINUED_AS_NEW: 'continued',
};

export function webUiUrl(base: string | undefined, namespace: string, workflowId: string, runId: string) {
  if (!base) return undefined;
  return `${base.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}/${runId}/history`;
}

export function summarizeRun(raw: RawRun, opts: { now: Date; webUi?: string; namespace: string }): RunInfo {
  const { run, action } = runLabel(raw.workflowId);
  const outcome =
    raw.status === 'COMPLETED'
      ? action === 'delete'
        ? 'succeeded'
        : (raw.result?.outcome ?? 'succeeded')
      : (OUTCOME[raw.status] ?? raw.status.toLowerCase());
  const start = raw.startTime ? Date.parse(raw.startTime) : undefined;
  const end = raw.closeTime
    ? Date.parse(raw.closeTime)
    : outcome === 'running'
      ? opts.now.getTime()
      : undefined;
  const failedPipeline = [...raw.pipelines].reverse().find((p) => p.state === 'failed');
  const running = [...raw.pipelines].reverse().find((p) => p.state === 'running');
  const message =
    outcome === 'failed' || outcome === 'timed out' ? (raw.failure ?? failedPipeline?.failure) : undefined;
  const parsed = parseFailure(message);
  const pipeline =
    outcome === 'running' ? running?.name : message ? (parsed.pipeline ?? failedPipeline?.name) : undefined;
  const reason = action === 'delete' ? (run === 'delete' ? 'deleted' : 'manual') : (raw.input?.reason ?? '-');
  return {
    run,
    action,
    reason,
    ...(raw.input?.generation !== undefined && action === 'configure'
      ? { generation: raw.input.generation }
      : {}),
    outcome,
    ...(raw.startTime ? { startTime: raw.startTime } : {}),
    ...(raw.closeTime ? { closeTime: raw.closeTime } : {}),
    ...(start !== undefined && end !== undefined ? { durationMs: end - start } : {}),
    ...(pipeline ? { pipeline } : {}),
    ...(parsed.container && message ? { container: parsed.container } : {}),
    ...(message ? { message } : {}),
    workflowId: raw.workflowId,
    runId: raw.runId,
    ...(opts.webUi ? { webUrl: webUiUrl(opts.webUi, opts.namespace, raw.workflowId, raw.runId) } : {}),
  };
}

/** Oldest first; configure runs by number, a delete after the configure runs it ended. */
export function sortRuns(runs: RunInfo[]): RunInfo[] {
  return [...runs].sort((a, b) => (a.startTime ?? '').localeCompare(b.startTime ?? ''));
}
