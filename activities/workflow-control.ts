// How a pipeline's workflow-control.yaml shows on its object: the pipeline's phase is Suspended
// (with its message, and for a retry the attempt count and next retry time), PipelineCompleted is
// False and Reconciled Unknown (reason WorkflowSuspended), and an Event says why.
import { mergeStatus, setCondition } from '../src/core/status.js';
import type { Condition } from '../src/core/types.js';
import type { WorkflowControl } from '../src/core/workflow-control.js';
import type { Kube } from '../src/kube/client.js';
import { recordEvent } from '../src/kube/events.js';
import type { ObjectAccess } from './access.js';
import { CONDITION, now, withPhase } from './run-status.js';
import { SUSPENDED_REASON } from '../src/core/run-status.js';

export async function suspendPipeline(
  kube: Kube,
  acc: ObjectAccess,
  input: {
    pipeline: string;
    control: WorkflowControl;
    /** 1 for the first run of the pipeline in this workflow, 2 for its first re-run, … */
    attempt: number;
    generation: number;
    status?: Record<string, unknown>;
  },
): Promise<void> {
  const { pipeline, control, attempt } = input;
  const obj = await acc.read();
  if (!obj) return;
  const merged = mergeStatus(obj.status, input.status ?? {});
  const retry = control.kind === 'retry';
  const kratix = withPhase(
    { ...obj, status: merged },
    pipeline,
    'Suspended',
    control.message,
    retry
      ? { attempts: attempt, nextRetryAt: new Date(Date.now() + control.retryAfterMs).toISOString() }
      : undefined,
  );
  kratix.workflows = { ...(kratix.workflows as object), suspendedGeneration: input.generation };
  const what = retry
    ? `will re-run after ${control.retryAfter} (attempt ${attempt})`
    : 'waiting for the kratix.io/manual-reconciliation label or a spec change';
  const message = `Pipeline "${pipeline}" suspended${control.message ? `: ${control.message}` : ''}; ${what}`;
  const time = now();
  let conditions = setCondition(
    merged.conditions as Condition[] | undefined,
    { type: CONDITION.configure, status: 'False', reason: SUSPENDED_REASON, message },
    time,
  );
  conditions = setCondition(
    conditions,
    { type: 'Reconciled', status: 'Unknown', reason: SUSPENDED_REASON, message: 'Suspended' },
    time,
  );
  await acc.patchStatus({ ...merged, kratix, conditions });
  await recordEvent(kube, acc.event, retry ? 'Normal' : 'Warning', SUSPENDED_REASON, message);
}
