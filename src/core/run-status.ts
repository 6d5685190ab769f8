// How a run shows on its object, as pure functions of the object and the time: the status patches
// (JSON merge patches of `.status`) and Event messages of a configure or delete run. The activities
// send them to the API server; `kratix-temporal test` applies them in memory, so both give the
// same status.
import { mergeStatus, setCondition } from './status.js';
import { promiseSummary, WORKS_SUCCEEDED } from './upstream-status.js';
import type { Condition, KubeObject, WorkflowAction } from './types.js';

export interface PipelinePhase {
  name: string;
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Suspended';
  message?: string;
  lastTransitionTime?: string;
}

/** The condition each action reports (seed 004 / DESIGN §3). */
export const CONDITION: Record<WorkflowAction, string> = {
  configure: 'PipelineCompleted',
  delete: 'DeletePipelineCompleted',
};

type Status = Record<string, unknown>;

export function pipelinePhases(obj: KubeObject): PipelinePhase[] {
  const k = obj.status?.kratix as { workflows?: { pipelines?: PipelinePhase[] } } | undefined;
  return k?.workflows?.pipelines ?? [];
}

/** `status.kratix` with one pipeline's phase changed. */
export function withPhase(
  obj: KubeObject,
  name: string,
  phase: PipelinePhase['phase'],
  time: string,
  message?: string,
  extra?: Record<string, unknown>,
): Status {
  const phases = pipelinePhases(obj).map((p) =>
    p.name === name
      ? { name, phase, ...(message ? { message } : {}), ...extra, lastTransitionTime: time }
      : p,
  );
  const kratix = (obj.status?.kratix ?? {}) as Status;
  const workflows = (kratix.workflows ?? {}) as Status;
  return { ...kratix, workflows: { ...workflows, pipelines: phases } };
}

export function conditionsWith(obj: KubeObject, c: Condition, time: string): Condition[] {
  return setCondition(obj.status?.conditions as Condition[] | undefined, c, time);
}

export function waitingForPromiseMessage(promise: string): string {
  return `Waiting for Promise ${promise} to be available`;
}

/** Reconciled's reason while a pipeline's workflow-control.yaml holds the object suspended. */
export const SUSPENDED_REASON = 'WorkflowSuspended';
/** Reconciled's reason while the kratix.io/paused label holds the object. */
export const PAUSED_REASON = 'PausedReconciliation';

/**
 * A configure run starts: PipelineCompleted=False, every pipeline Pending, and Reconciled no longer
 * saying a suspension or pause if that is what ended the last run.
 */
export function runStartedStatus(
  obj: KubeObject,
  promise: string,
  pipelines: string[],
  time: string,
): Status {
  const kratix = (obj.status?.kratix ?? {}) as Status;
  const { suspendedGeneration, ...workflows } = (kratix.workflows ?? {}) as Status;
  const message = obj.status?.message;
  let conditions = conditionsWith(
    obj,
    {
      type: CONDITION.configure,
      status: 'False',
      reason: 'PipelineNotCompleted',
      message: 'Pipeline has not completed',
    },
    time,
  );
  const reconciled = conditions.find((c) => c.type === 'Reconciled');
  if (reconciled && [SUSPENDED_REASON, PAUSED_REASON].includes(reconciled.reason ?? ''))
    conditions = setCondition(
      conditions,
      { type: 'Reconciled', status: 'Unknown', reason: 'Pending', message: 'Pending' },
      time,
    );
  return {
    ...(message && !String(message).startsWith(waitingForPromiseMessage(promise))
      ? {}
      : { message: 'Pending' }),
    conditions,
    kratix: {
      ...kratix,
      workflows: {
        ...workflows,
        // A merge patch: null removes it (the run starts over).
        ...(suspendedGeneration !== undefined ? { suspendedGeneration: null } : {}),
        pipelines: pipelines.map((name) => ({ name, phase: 'Pending' })),
      },
    },
  };
}

/**
 * A configure pipeline succeeded: its status.yaml merged into `latest` (the object as the run last
 * saw it), its phase Succeeded, and where its output went (sticky Destinations).
 */
export function pipelineSucceededStatus(
  latest: KubeObject,
  pipelineStatus: Status | undefined,
  name: string,
  /** Where each output key (`<pipeline>` or `<pipeline>/<directory>`) went; null: no longer written. */
  destinations: Record<string, string | null>,
  time: string,
): Status {
  const merged = mergeStatus(latest.status, pipelineStatus ?? {});
  // A pending problem that resolved itself left its message behind.
  if (
    merged.message === latest.status?.message &&
    String(merged.message).startsWith(`Pipeline "${name}" is waiting`)
  )
    merged.message = 'Pending';
  const kratix = withPhase(latest, name, 'Succeeded', time);
  if (Object.keys(destinations).length) {
    const recorded = ((latest.status?.kratix as { destinations?: Record<string, string> } | undefined)
      ?.destinations ?? {}) as Record<string, string>;
    kratix.destinations = { ...recorded, ...destinations };
  }
  return { ...merged, kratix };
}

/** A pipeline failed: the message, the Warning reason and the status patch that show it. */
export function pipelineFailedStatus(
  obj: KubeObject | undefined,
  action: WorkflowAction,
  pipeline: string,
  detail: string,
  time: string,
): { message: string; reason: string; patch?: Status } {
  const message = `Pipeline "${pipeline}" failed: ${detail}`;
  const reason = action === 'delete' ? 'DeletePipelineFailed' : 'PipelineFailed';
  if (!obj) return { message, reason };
  return {
    message,
    reason,
    patch: {
      message,
      conditions: conditionsWith(obj, { type: CONDITION[action], status: 'False', reason, message }, time),
      ...(action === 'configure' ? { kratix: withPhase(obj, pipeline, 'Failed', time, detail) } : {}),
    },
  };
}

/** The failed pipeline's Warning Event message: with the container's last output, if any. */
export function failedEventMessage(message: string, logTail?: string): string {
  return logTail ? `${message}; output: ${logTail}` : message;
}

/** What a failed executor outcome says about its container. */
export function outcomeFailureDetail(
  outcome: { container: string; index: number; exitCode: number | null; message: string },
  total: number,
): string {
  return outcome.exitCode === null
    ? outcome.message
    : `container "${outcome.container}" (${outcome.index + 1}/${total}) exited with code ${outcome.exitCode}`;
}

/** Every configure pipeline succeeded: PipelineCompleted=True (and a Promise becomes Available). */
export function runCompletedStatus(
  obj: KubeObject,
  generation: number,
  isPromise: boolean,
  time: string,
): Status {
  let conditions = conditionsWith(
    obj,
    {
      type: CONDITION.configure,
      status: 'True',
      reason: 'PipelineExecutedSuccessfully',
      message: 'Pipeline completed',
      observedGeneration: generation,
    },
    time,
  );
  // Every write of this run reached its state store (a failed write fails the pipeline).
  conditions = setCondition(
    conditions,
    {
      type: WORKS_SUCCEEDED,
      status: 'True',
      reason: 'WorksSucceeded',
      message: 'All works associated with this object are written to their Destinations',
    },
    time,
  );
  if (isPromise)
    conditions = setCondition(
      conditions,
      {
        type: 'Available',
        status: 'True',
        reason: 'PromiseAvailable',
        message: 'Ready to fulfil resource requests',
      },
      time,
    );
  const message = obj.status?.message;
  return {
    ...(message === 'Pending' || !message
      ? { message: isPromise ? 'Promise configured' : 'Resource requested' }
      : {}),
    observedGeneration: generation,
    lastSuccessfulConfigureWorkflowTime: time,
    conditions,
    ...(isPromise
      ? { ...promiseSummary(obj as Parameters<typeof promiseSummary>[0], true), lastAvailableTime: time }
      : {}),
  };
}

const RUN_EVENT_WORDS = {
  pipelineCompleted: (name: string, index: number, total: number) =>
    `Pipeline "${name}" completed (${index + 1}/${total})`,
};

/** The Events of a run (reason → message), worded once for the worker and `kratix-temporal test`. */
export const RUN_EVENTS = {
  pipelineStarted: (action: WorkflowAction, name: string, index: number, total: number) =>
    `${action} pipeline "${name}" started (${index + 1}/${total})`,
  pipelineSucceeded: (action: WorkflowAction, name: string, index: number, total: number) =>
    action === 'delete'
      ? `delete pipeline "${name}" completed`
      : RUN_EVENT_WORDS.pipelineCompleted(name, index, total),
  /**
   * The run's last pipeline, when given, is named here instead of in a PipelineSucceeded Event of
   * its own: one Event (one API write) fewer per run, the same facts.
   */
  configureCompleted: (last?: { name: string; index: number; total: number }) =>
    last
      ? `${RUN_EVENT_WORDS.pipelineCompleted(last.name, last.index, last.total)}; all configure pipelines completed`
      : 'All configure pipelines completed',
  promiseAvailable: 'Promise is ready to fulfil resource requests',
};

const isPlainObject = (x: unknown): x is Record<string, unknown> =>
  x !== null && typeof x === 'object' && !Array.isArray(x);

/**
 * The JSON merge patch that turns `before` into `after` (undefined when they are equal): removed
 * keys as null, changed values whole, objects key by key. Two patches written one after the other
 * cannot always be merged into one without it (a key the first removes and the second sets).
 */
export function mergePatchBetween(before: unknown, after: unknown): unknown {
  if (isPlainObject(before) && isPlainObject(after)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(before)) if (!(k in after)) out[k] = null;
    for (const [k, v] of Object.entries(after)) {
      const d = mergePatchBetween(before[k], v);
      if (d !== undefined) out[k] = d;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }
  return sameJson(before, after) ? undefined : after;
}

/** Equal as JSON values (key order aside). */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && sameJson(a[k], b[k]));
  }
  return false;
}

/** RFC 7386 JSON merge patch, as the API server applies a status patch. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}
