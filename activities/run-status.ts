// How a run shows on its object: pipeline phases, the PipelineCompleted / DeletePipelineCompleted
// condition, failures and waits (message, condition, Warning event). The status itself is computed
// by src/core/run-status.ts (shared with `kratix-temporal test`).
import { ApplicationFailure } from '@temporalio/activity';
import * as core from '../src/core/run-status.js';
import type { Condition, KubeObject, WorkflowAction } from '../src/core/types.js';
import type { Kube } from '../src/kube/client.js';
import { recordEvent } from '../src/kube/events.js';
import type { ObjectAccess } from './access.js';

export { CONDITION, pipelinePhases, type PipelinePhase } from '../src/core/run-status.js';
export const now = () => new Date().toISOString();

export function withPhase(
  obj: KubeObject,
  name: string,
  phase: core.PipelinePhase['phase'],
  message?: string,
  extra?: Record<string, unknown>,
): Record<string, unknown> {
  return core.withPhase(obj, name, phase, now(), message, extra);
}

export function conditionsWith(obj: KubeObject, c: Condition): Condition[] {
  return core.conditionsWith(obj, c, now());
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
  const obj = await acc.read();
  const { message, reason, patch } = core.pipelineFailedStatus(obj, action, pipeline, detail, now());
  if (patch) await acc.patchStatus(patch);
  await recordEvent(kube, acc.event, 'Warning', reason, core.failedEventMessage(message, logTail));
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
        type: core.CONDITION[action],
        status: 'False',
        reason: 'PipelinePending',
        message,
      }),
    });
  }
  await recordEvent(kube, acc.event, 'Warning', 'PipelinePending', message);
}
