import {
  continueAsNew,
  executeChild,
  getExternalWorkflowHandle,
  patched,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { DEFAULT_RECONCILIATION_INTERVAL_MS } from '../src/core/constants.js';
import { configureRunId } from '../src/core/names.js';
import { searchAttributesFor } from '../src/core/search-attributes.js';
import type { PromiseRef } from '../src/core/types.js';
import { install, kube, longRunning } from './activities-proxy.js';
import { configureRun, InlineRun } from './configure-run.js';
import { interruptSignal, type PromiseLifecycleInput } from './definitions.js';
import { deleteUntilDone } from './delete-run.js';
import {
  initialState,
  markRunStatus,
  runEntityLoop,
  runShape,
  runStatusClearedAtDelete,
} from './entity-loop.js';

/**
 * The durable lifecycle of one Promise: validate it, install its API (the Resource CRD) and its
 * static dependencies, run its promise.configure pipelines (a child per run), then it is
 * Available. A spec change re-runs every resource of the Promise; delete removes everything.
 */
export async function promiseLifecycle(input: PromiseLifecycleInput): Promise<void> {
  const shape = runShape(input);
  const inlineRuns = shape.inline;
  const state = input.state ?? initialState();
  const selfId = workflowInfo().workflowId;
  const ref: PromiseRef = { type: 'promise', promise: input.name, uid: input.uid };
  const inline = new InlineRun(shape.localPipelines);
  await runEntityLoop(state, {
    uid: input.uid,
    async run(ctx) {
      // Histories from before promise pipelines existed: install only, Available right away.
      if (!patched('promise-configure-run')) {
        const r = await install.installPromise({
          name: input.name,
          uid: input.uid,
          generation: ctx.generation,
        });
        return { outcome: r.gone ? 'gone' : 'succeeded', intervalMs: r.intervalMs };
      }
      // kratix.io/reconcile-resources: re-run every Resource (not the Promise's own pipelines).
      // With the spec already installed, only that; otherwise after the run below.
      const reconcileResources = ctx.reason === 'reconcile-resources';
      if (
        reconcileResources &&
        state.doneHash === state.wantedHash &&
        state.blocked === undefined &&
        patched('reconcile-resources-label')
      ) {
        const done = await longRunning.rerunPromiseResources({ name: input.name, since: '' });
        await kube.finishReconcileResources({ name: input.name, uid: input.uid, resources: done.resources });
        return { outcome: 'succeeded', intervalMs: state.intervalMs ?? DEFAULT_RECONCILIATION_INTERVAL_MS };
      }
      const r = await install.installPromise({
        name: input.name,
        uid: input.uid,
        generation: ctx.generation,
        markAvailable: false,
      });
      if (r.gone) return { outcome: 'gone', intervalMs: r.intervalMs };
      // spec.requiredPromises not met: wait (no timer) until the controller says one changed.
      if ('unmetRequirements' in r && r.unmetRequirements && patched('required-promises'))
        return { outcome: 'blocked', intervalMs: r.intervalMs };
      const id = configureRunId(selfId, ctx.number);
      state.currentRun = id;
      const args = { ref, generation: ctx.generation, reason: ctx.reason, folded: true as const };
      const result = inlineRuns
        ? await inline.run(args, id, state)
        : await executeChild(configureRun, {
            workflowId: id,
            args: [args],
            staticSummary: `configure Promise ${input.name} #${ctx.number} (${ctx.reason})`,
            typedSearchAttributes: searchAttributesFor({ promise: input.name }, 'configure'),
          });
      // A changed Promise re-runs its resources (bounded concurrency); the first install does not.
      if (result.outcome === 'succeeded' && (ctx.reason === 'spec-changed' || reconcileResources)) {
        const done = await longRunning.rerunPromiseResources({ name: input.name, since: '' });
        if (reconcileResources)
          await kube.finishReconcileResources({
            name: input.name,
            uid: input.uid,
            resources: done.resources,
          });
      }
      return { ...result, runId: id };
    },
    async supersede() {
      // Each run re-reads the Promise; the loop starts a new run for the newer spec.
    },
    async interrupt() {
      if (inlineRuns) inline.interrupt();
      else if (state.currentRun) await getExternalWorkflowHandle(state.currentRun).signal(interruptSignal);
    },
    ...(inlineRuns ? { onRunEnded: markRunStatus } : {}),
    async onPaused(paused) {
      await kube.markPaused({ ref, paused });
    },
    async onDelete() {
      const cleared = runStatusClearedAtDelete();
      if (cleared.length) upsertSearchAttributes(cleared);
      if (patched('promise-delete-run')) {
        await longRunning.deleteResourcesOfPromise({ name: input.name });
        await deleteUntilDone(ref, selfId, state);
      }
      await kube.finishPromiseDelete({ name: input.name, uid: input.uid });
    },
    // The next execution runs its configure runs inline, whichever way this one ran them.
    continueAsNew: (s) =>
      continueAsNew<typeof promiseLifecycle>({ ...input, state: s, inlineRuns: true, localPipelines: true }),
  });
}
