import { ApplicationFailure } from '@temporalio/activity';
import { pipelinesFor } from '../src/core/pipeline-factory.js';
import type { KratixPromise, ObjectRef, Pipeline, WorkflowAction, WorkflowType } from '../src/core/types.js';
import { DEFAULT_RECONCILIATION_INTERVAL_MS, MIN_RECONCILIATION_INTERVAL_MS } from '../src/core/constants.js';
import { parseDuration } from '../src/core/duration.js';
import type { Kube } from '../src/kube/client.js';
import { readPlatformConfig, readPromise } from '../src/kube/objects.js';

/** The Promise of an object; a missing Promise is retried (it may be being re-created). */
export async function promiseOf(
  kube: Kube,
  ref: ObjectRef,
  opts: { fresh?: boolean } = {},
): Promise<KratixPromise> {
  const promise = await readPromise(kube, ref.promise, opts);
  if (!promise) throw new Error(`Promise ${ref.promise} not found`);
  return promise;
}

export function findPipeline(
  promise: KratixPromise,
  ref: ObjectRef,
  type: WorkflowType,
  action: WorkflowAction,
  name: string,
): Pipeline {
  const p = pipelinesFor(promise, type, action).find((q) => q.metadata.name === name);
  if (!p) {
    throw ApplicationFailure.nonRetryable(
      `pipeline "${name}" is no longer in Promise ${ref.promise} (the Promise changed during the run)`,
      'PipelineFailed',
    );
  }
  return p;
}

/** Per Promise (≥ 1m), else the `kratix` ConfigMap, else 10h. */
export async function reconcileIntervalMs(kube: Kube, promise: KratixPromise | undefined): Promise<number> {
  const own = parseDuration(promise?.spec?.workflows?.config?.reconciliationInterval);
  // The floor protects the platform; tests lower it with KRATIX_MIN_RECONCILIATION_INTERVAL.
  const floor =
    parseDuration(process.env.KRATIX_MIN_RECONCILIATION_INTERVAL) ?? MIN_RECONCILIATION_INTERVAL_MS;
  if (own !== undefined) return Math.max(own, floor);
  const platform = parseDuration((await readPlatformConfig(kube)).reconciliationInterval);
  if (platform !== undefined) return Math.max(platform, floor);
  return DEFAULT_RECONCILIATION_INTERVAL_MS;
}
