// Upstream's control labels on the object: kratix.io/paused shows as Reconciled=Unknown
// (PausedReconciliation) with an Event; kratix.io/reconcile-resources is removed once done.
import { PAUSED_LABEL, RECONCILE_RESOURCES_LABEL } from '../src/core/constants.js';
import type { ObjectRef } from '../src/core/types.js';
import { recordEvent } from '../src/kube/events.js';
import { patchPromiseMetadata, removeLabelPatch } from '../src/kube/objects.js';
import { objectAccess } from './access.js';
import type { ActivityDeps } from './deps.js';
import { conditionsWith } from './run-status.js';
import { PAUSED_REASON } from '../src/core/run-status.js';

export function controlActivities(deps: ActivityDeps) {
  const { kube } = deps;

  /** The lifecycle stopped (paused) or resumed for the kratix.io/paused label. */
  async function markPaused(input: { ref: ObjectRef; paused: boolean }) {
    const acc = objectAccess(kube, input.ref);
    const obj = await acc.read();
    if (!obj) return;
    if (input.paused) {
      const where =
        obj.metadata.labels?.[PAUSED_LABEL] === 'true' ? acc.describe : `Promise ${input.ref.promise}`;
      await acc.patchStatus({
        conditions: conditionsWith(obj, {
          type: 'Reconciled',
          status: 'Unknown',
          reason: PAUSED_REASON,
          message: 'Paused',
        }),
      });
      await recordEvent(
        kube,
        acc.event,
        'Warning',
        PAUSED_REASON,
        `'${PAUSED_LABEL}' label set to 'true' on ${where}; pausing reconciliation`,
      );
      return;
    }
    await acc.patchStatus({
      conditions: conditionsWith(obj, {
        type: 'Reconciled',
        status: 'Unknown',
        reason: 'Unpaused',
        message: 'Pending',
      }),
    });
    await recordEvent(
      kube,
      acc.event,
      'Normal',
      'ReconciliationResumed',
      `'${PAUSED_LABEL}' label removed; reconciliation resumed`,
    );
  }

  /** Every Resource of the Promise re-ran for kratix.io/reconcile-resources: the label goes. */
  async function finishReconcileResources(input: { name: string; uid: string; resources: number }) {
    await patchPromiseMetadata(kube, input.name, input.uid, removeLabelPatch(RECONCILE_RESOURCES_LABEL));
    await recordEvent(
      kube,
      objectAccess(kube, { type: 'promise', promise: input.name, uid: input.uid }).event,
      'Normal',
      'ResourcesReconciled',
      `Re-ran ${input.resources} Resource(s) for the '${RECONCILE_RESOURCES_LABEL}' label`,
    );
  }

  return { markPaused, finishReconcileResources };
}
