import { continueAsNew, executeChild, patched } from '@temporalio/workflow';
import { configureRunId } from '../src/core/names.js';
import { searchAttributesFor } from '../src/core/search-attributes.js';
import type { PromiseRef } from '../src/core/types.js';
import { install, kube, longRunning } from './activities-proxy.js';
import { configureRun } from './configure-run.js';
import type { PromiseLifecycleInput } from './definitions.js';
import { deleteUntilDone } from './delete-run.js';
import { initialState, runEntityLoop } from './entity-loop.js';
import { workflowInfo } from '@temporalio/workflow';

/**
 * The durable lifecycle of one Promise: validate it, install its API (the Resource CRD) and its
 * static dependencies, run its promise.configure pipelines (a child per run), then it is
 * Available. A spec change re-runs every resource of the Promise; delete removes everything.
 */
export async function promiseLifecycle(input: PromiseLifecycleInput): Promise<void> {
  const state = input.state ?? initialState();
  const selfId = workflowInfo().workflowId;
  const ref: PromiseRef = { type: 'promise', promise: input.name, uid: input.uid };
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
      const r = await install.installPromise({
        name: input.name,
        uid: input.uid,
        generation: ctx.generation,
        markAvailable: false,
      });
      if (r.gone) return { outcome: 'gone', intervalMs: r.intervalMs };
      const id = configureRunId(selfId, ctx.number);
      state.currentRun = id;
      const result = await executeChild(configureRun, {
        workflowId: id,
        args: [{ ref, generation: ctx.generation, reason: ctx.reason }],
        staticSummary: `configure Promise ${input.name} #${ctx.number} (${ctx.reason})`,
        typedSearchAttributes: searchAttributesFor({ promise: input.name }, 'configure'),
      });
      // A changed Promise re-runs its resources (bounded concurrency); the first install does not.
      if (result.outcome === 'succeeded' && ctx.reason === 'spec-changed') {
        await longRunning.rerunPromiseResources({ name: input.name, since: '' });
      }
      return { ...result, runId: id };
    },
    async supersede() {
      // Each run re-reads the Promise; the loop starts a new run for the newer spec.
    },
    async onDelete() {
      if (patched('promise-delete-run')) {
        await longRunning.deleteResourcesOfPromise({ name: input.name });
        await deleteUntilDone(ref, selfId, state);
      }
      await kube.finishPromiseDelete({ name: input.name, uid: input.uid });
    },
    continueAsNew: (s) => continueAsNew<typeof promiseLifecycle>({ ...input, state: s }),
  });
}
