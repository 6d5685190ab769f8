// One run as `kratix-temporal runs` shows it. A configure run runs inside its lifecycle: it comes
// from the lifecycle's `state` query (its last runs, and the one in flight). Delete runs, and
// configure runs of lifecycles recorded before inline runs, are child executions: they come from
// their visibility entry and the few history events that matter. Pure: payloads arrive decoded.
import type { LifecycleState, RunSummary } from '../../workflows/definitions.js';

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
  /** The run's id: a child run's workflow id, or `<lifecycle>/configure/<n>` for an inline run. */
  workflowId: string;
  /** The Temporal run id of the execution that ran it (the child, or the lifecycle). */
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

/**
 * The configure runs a lifecycle's `state` query lists (its last runs, and the one in flight) that
 * ran inside it (`inline`). Runs it lists that were child executions come from their own histories.
 */
export function summarizeLifecycleRuns(
  state: Pick<LifecycleState, 'lastRuns' | 'running' | 'currentRun' | 'currentPipeline'>,
  opts: { lifecycleId: string; now: Date; webUi?: string; namespace: string },
): RunInfo[] {
  const one = (r: RunSummary, running: boolean): RunInfo | undefined => {
    const workflowId = running ? (state.currentRun ?? r.workflowId) : r.workflowId;
    if (!r.inline || !workflowId || !r.execution) return undefined;
    const end = running ? opts.now.toISOString() : r.endedAt;
    const message = !running && r.outcome === 'failed' ? r.error : undefined;
    const parsed = parseFailure(message);
    const pipeline = running ? state.currentPipeline : parsed.pipeline;
    return {
      run: String(r.number),
      action: 'configure',
      reason: r.reason,
      generation: r.generation,
      outcome: running ? 'running' : r.outcome,
      ...(r.startedAt ? { startTime: r.startedAt } : {}),
      ...(!running && r.endedAt ? { closeTime: r.endedAt } : {}),
      ...(r.startedAt && end ? { durationMs: Date.parse(end) - Date.parse(r.startedAt) } : {}),
      ...(pipeline ? { pipeline } : {}),
      ...(parsed.container ? { container: parsed.container } : {}),
      ...(message ? { message } : {}),
      workflowId,
      runId: r.execution,
      ...(opts.webUi ? { webUrl: webUiUrl(opts.webUi, opts.namespace, opts.lifecycleId, r.execution) } : {}),
    };
  };
  return [
    ...state.lastRuns.map((r) => one(r, false)),
    ...(state.running ? [one(state.running, true)] : []),
  ].filter((r): r is RunInfo => r !== undefined);
}

/** Oldest first; configure runs by number, a delete after the configure runs it ended. */
export function sortRuns(runs: RunInfo[]): RunInfo[] {
  return [...runs].sort((a, b) => (a.startTime ?? '').localeCompare(b.startTime ?? ''));
}

/** What a listing of runs found: the runs, and the lifecycles whose `state` query went unanswered. */
export interface RunsRead {
  runs: RunInfo[];
  /** Lifecycles whose configure runs are missing from `runs`, and why. */
  unread: { lifecycleId: string; error: string }[];
}

/**
 * The run a retry started: one not listed before the request. A lifecycle whose configure runs
 * could not be read before (its worker restarting) lists them all as unseen later, so from those
 * only a run that started after the request counts (`skewMs` allows for the worker's clock).
 */
export function newRunSince(
  runs: RunInfo[],
  before: RunsRead,
  requestedAt: Date,
  skewMs = 5_000,
): RunInfo | undefined {
  const seen = new Set(before.runs.map(runKey));
  const ofUnread = (r: RunInfo) =>
    r.action === 'configure' && before.unread.some((u) => r.workflowId.startsWith(`${u.lifecycleId}/`));
  return runs.find(
    (r) =>
      !seen.has(runKey(r)) &&
      (!ofUnread(r) ||
        (r.startTime !== undefined && Date.parse(r.startTime) >= requestedAt.getTime() - skewMs)),
  );
}

/** What tells one run from another across listings. */
function runKey(r: Pick<RunInfo, 'workflowId' | 'runId'>): string {
  return `${r.workflowId}/${r.runId}`;
}
