// A Resource's delete run: which pipeline, a blocked delete waiting for the manual label, and
// letting Kubernetes remove the object at the end.
import { DELETE_FINALIZER, MANUAL_RECONCILIATION_LABEL } from '../src/core/constants.js';
import { resourceWorkflowId } from '../src/core/names.js';
import { pipelinesFor } from '../src/core/pipeline-factory.js';
import { isPromiseRef, type ObjectRef } from '../src/core/types.js';
import { removeFinalizerPatch, removeLabelPatch } from '../src/kube/objects.js';
import { objectAccess } from './access.js';
import type { ActivityDeps } from './deps.js';
import { removeRunDirs } from './run-dirs.js';
import { promiseOf } from './subject.js';

export function deleteRunActivities(deps: ActivityDeps) {
  const { kube } = deps;

  /** The delete pipeline to run (if the Promise has one); removes the manual label of a retry. */
  async function startDeleteRun(input: { ref: ObjectRef }) {
    const acc = objectAccess(kube, input.ref);
    const obj = await acc.read();
    if (!obj) return { gone: true, pipeline: undefined };
    if (obj.metadata.labels?.[MANUAL_RECONCILIATION_LABEL])
      await acc.patchMetadata(removeLabelPatch(MANUAL_RECONCILIATION_LABEL));
    const promise = await promiseOf(kube, input.ref);
    const p = pipelinesFor(promise, acc.type, 'delete')[0];
    await acc.patchStatus({ message: p ? `Deleting: running pipeline ${p.metadata.name}` : 'Deleting' });
    return {
      gone: false,
      pipeline: p ? { name: p.metadata.name, containers: p.spec.containers.length } : undefined,
    };
  }

  /** A failed delete is retried by the manual label: record that we are waiting for it. */
  async function markDeleteBlocked(input: { ref: ObjectRef; error: string }) {
    const acc = objectAccess(kube, input.ref);
    const obj = await acc.read();
    if (!obj) return;
    const message = `${input.error}. Fix the cause, then label the object kratix.io/manual-reconciliation=true to retry the delete`;
    if (obj.status?.message !== message) await acc.patchStatus({ message });
  }

  /** After the delete run: lets Kubernetes remove the object. */
  async function finishResourceDelete(input: { ref: ObjectRef }) {
    await objectAccess(kube, input.ref).patchMetadata(removeFinalizerPatch(DELETE_FINALIZER));
    // The object is gone: so are the folders its runs left on this worker (failed runs keep
    // theirs until the next run, which now never comes).
    if (!isPromiseRef(input.ref)) await removeRunDirs(deps, resourceWorkflowId(input.ref));
  }

  return { startDeleteRun, markDeleteBlocked, finishResourceDelete };
}
