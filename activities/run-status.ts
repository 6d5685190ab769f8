// How a run shows on its object: pipeline phases, the PipelineCompleted / DeletePipelineCompleted
// condition, failures and waits (message, condition, Warning event).
import { ApplicationFailure } from '@temporalio/activity';
import { setCondition } from '../src/core/status.js';
import type { Condition, KubeObject, WorkflowAction } from '../src/core/types.js';
import type { Kube } from '../src/kube/client.js';
import { recordEvent } from '../src/kube/events.js';
import type { ObjectAccess } from './access.js';

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
export const now = () => new Date().toISOString();

export function pipelinePhases(obj: KubeObject): PipelinePhase[] {
  const k = obj.status?.kratix as { workflows?: { pipelines?: PipelinePhase[] } } | undefined;
  return k?.workflows?.pipelines ?? [];
}

export function withPhase(
  obj: KubeObject,
  name: string,
  phase: PipelinePhase['phase'],
  message?: string,
  extra?: Record<string, unknown>,
): Record<string, unknown> {
  const phases = pipelinePhases(obj).map((p) =>
    p.name === name
      ? { name, phase, ...(message ? { message } : {}), ...extra, lastTransitionTime: now() }
      : p,
  );
  const kratix = (obj.status?.kratix ?? {}) as Record<string, unknown>;
  const workflows = (kratix.workflows ?? {}) as Record<string, unknown>;
  return { ...kratix, workflows: { ...workflows, pipelines: phases } };
}

export function conditionsWith(obj: KubeObject, c: Condition): Condition[] {
  return setCondition(obj.status?.conditions as Condition[] | undefined, c, now());
}

/** Records a failed pipeline on the object (condition, phase, message, Warning event) and fails the run. */
export async function failPipeline(
  kube: Kube,
  acc: ObjectAccess,
  action: WorkflowAction,
  pipeline: string,
  detail: string,
  logTail?: string,
) {
  const message = `Pipeline "${pipeline}" failed: ${detail}`;
  const reason = action === 'delete' ? 'DeletePipelineFailed' : 'PipelineFailed';
  const obj = await acc.read();
  if (obj) {
    await acc.patchStatus({
      message,
      conditions: conditionsWith(obj, { type: CONDITION[action], status: 'False', reason, message }),
      ...(action === 'configure' ? { kratix: withPhase(obj, pipeline, 'Failed', detail) } : {}),
    });
  }
  await recordEvent(kube, acc.event, 'Warning', reason, logTail ? `${message}; output: ${logTail}` : message);
  return ApplicationFailure.nonRetryable(message, 'PipelineFailed');
}

/**
 * The run waits on something only a person (or the cluster) can fix: say so on the object
 * (message, condition, Warning event) while the executor keeps waiting up to its pending timeout.
 */
export async function reportPending(
  kube: Kube,
  acc: ObjectAccess,
  action: WorkflowAction,
  pipeline: string,
  detail: string,
) {
  const message = `Pipeline "${pipeline}" is waiting: ${detail}`;
  const obj = await acc.read();
  if (obj) {
    await acc.patchStatus({
      message,
      conditions: conditionsWith(obj, {
        type: CONDITION[action],
        status: 'False',
        reason: 'PipelinePending',
        message,
      }),
    });
  }
  await recordEvent(kube, acc.event, 'Warning', 'PipelinePending', message);
}
