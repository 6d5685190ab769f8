// promiseLifecycle on a real Temporal server with fake activities: a Promise update re-runs its
// Resources (one of which keeps failing) and completes; a Promise delete runs its steps in order.
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { configureRunId, deleteRunId, promiseWorkflowId, resourceWorkflowId } from '../../src/core/names.js';
import { isPromiseRef } from '../../src/core/types.js';
import {
  changedSignal,
  deleteSignal,
  reconcileSignal,
  type LifecycleState,
} from '../../workflows/definitions.js';
import type { promiseLifecycle } from '../../workflows/promise-lifecycle.js';
import type { resourceLifecycle } from '../../workflows/resource-lifecycle.js';
import {
  eventually,
  fakeActivities,
  resourceRef,
  startWorkflowTestEnv,
  stateWhere,
  type WorkflowTestEnv,
} from './harness.js';

let t: WorkflowTestEnv;
let client: Client;

beforeAll(async () => {
  t = await startWorkflowTestEnv();
  client = t.env.client;
}, 120_000);

afterAll(async () => {
  await t?.teardown();
});

type Changed = [{ generation: number; specHash: string }];

function startPromise(
  taskQueue: string,
  name: string,
  uid: string,
  generation = 1,
): Promise<WorkflowHandle<typeof promiseLifecycle>> {
  return client.workflow.signalWithStart<typeof promiseLifecycle, Changed>('promiseLifecycle', {
    workflowId: promiseWorkflowId(name, uid),
    taskQueue,
    args: [{ name, uid, inlineRuns: true as const }],
    signal: changedSignal,
    signalArgs: [{ generation, specHash: `p${generation}` }],
  });
}

function runs(s: LifecycleState) {
  return s.lastRuns.map((r) => ({
    number: r.number,
    outcome: r.outcome,
    generation: r.generation,
    reason: r.reason,
  }));
}

describe('promiseLifecycle (real workflows, fake activities)', () => {
  it('a Promise update re-runs its Resources; a Resource that keeps failing does not fail the Promise run', async () => {
    const name = 'redis';
    const uid = randomUUID();
    const promiseId = promiseWorkflowId(name, uid);
    const ref = resourceRef('always-fails');
    const resourceId = resourceWorkflowId(ref);
    const fakes = fakeActivities({
      runPipeline: async (input) => {
        if (!isPromiseRef(input.ref))
          throw ApplicationFailure.nonRetryable('resource pipeline failed', 'PipelineFailed');
        return { gone: false, files: 0 };
      },
      // What the real activity does for each Resource: signal `reconcile` (promise-updated) and wait
      // until the lifecycle finished a run that started after the signal, whatever its outcome.
      rerunPromiseResources: async () => {
        const handle = client.workflow.getHandle(resourceId);
        const baseline = (await handle.query<LifecycleState>('state')).runCount;
        await handle.signal(reconcileSignal, { reason: 'promise-updated' });
        await eventually('the re-run of the Resource', async () =>
          (await handle.query<LifecycleState>('state')).lastRuns.some((r) => r.number > baseline),
        );
        return { resources: 1, concurrency: 5 };
      },
    });
    await t.withWorker(fakes, async (taskQueue) => {
      const promise = await startPromise(taskQueue, name, uid);
      const first = await stateWhere(
        promise,
        'the first Promise run',
        (s) => s.runCount === 1 && s.phase === 'idle',
      );
      expect(runs(first)).toEqual([{ number: 1, outcome: 'succeeded', generation: 1, reason: 'created' }]);
      expect(fakes.of('installPromise').map((c) => c.input)).toEqual([
        { name, uid, generation: 1, markAvailable: false },
      ]);
      // The first install re-runs nothing.
      expect(fakes.of('rerunPromiseResources')).toEqual([]);

      const resource = await client.workflow.signalWithStart<typeof resourceLifecycle, Changed>(
        'resourceLifecycle',
        {
          workflowId: resourceId,
          taskQueue,
          args: [{ ref, inlineRuns: true as const }],
          signal: changedSignal,
          signalArgs: [{ generation: 1, specHash: 'h1' }],
        },
      );
      await stateWhere(resource, 'the failed Resource run', (s) => s.phase === 'waiting-retry');

      await promise.signal(changedSignal, { generation: 2, specHash: 'p2' });
      const updated = await stateWhere(
        promise,
        'the Promise update',
        (s) => s.runCount === 2 && s.phase === 'idle',
      );
      expect(runs(updated)[1]).toEqual({
        number: 2,
        outcome: 'succeeded',
        generation: 2,
        reason: 'spec-changed',
      });
      expect(updated).toMatchObject({ consecutiveFailures: 0, doneGeneration: 2, doneHash: 'p2' });
      expect(fakes.of('rerunPromiseResources').map((c) => [c.workflowId, c.input])).toEqual([
        [promiseId, { name, since: '' }],
      ]);
      // The Promise's configure run completed before its Resources were re-run.
      const order = fakes.calls.map((c) => `${c.name}@${c.workflowId}`);
      expect(order.indexOf(`completeConfigureRun@${configureRunId(promiseId, 2)}`)).toBeLessThan(
        order.indexOf(`rerunPromiseResources@${promiseId}`),
      );

      const r = await resource.query<LifecycleState>('state');
      expect(runs(r)).toEqual([
        { number: 1, outcome: 'failed', generation: 1, reason: 'created' },
        { number: 2, outcome: 'failed', generation: 1, reason: 'promise-updated' },
      ]);
      expect(r).toMatchObject({ phase: 'waiting-retry', consecutiveFailures: 2 });
      await resource.terminate();
      await promise.terminate();
    });
  });

  it('delete removes the Resources, runs the delete run, then releases the Promise, in that order', async () => {
    const name = 'postgres';
    const uid = randomUUID();
    const id = promiseWorkflowId(name, uid);
    const fakes = fakeActivities({ deleteResourcesOfPromise: async () => ({ deleted: 3 }) });
    await t.withWorker(fakes, async (taskQueue) => {
      const promise = await startPromise(taskQueue, name, uid);
      await stateWhere(promise, 'the first Promise run', (s) => s.runCount === 1 && s.phase === 'idle');
      const before = fakes.calls.length;

      await promise.signal(deleteSignal);
      await promise.result();

      const ref = { type: 'promise', promise: name, uid };
      expect(fakes.calls.slice(before).map((c) => [c.name, c.workflowId, c.input])).toEqual([
        ['deleteResourcesOfPromise', id, { name }],
        ['startDeleteRun', deleteRunId(id), { ref }],
        ['ensurePipelineIdentity', deleteRunId(id), { ref, action: 'delete', pipeline: 'cleanup' }],
        [
          'runPipeline',
          deleteRunId(id),
          {
            ref,
            action: 'delete',
            pipeline: 'cleanup',
            index: 0,
            total: 1,
            runId: deleteRunId(id),
            generation: 0,
          },
        ],
        ['removeFromStateStores', deleteRunId(id), { ref }],
        ['finishPromiseDelete', id, { name, uid }],
      ]);
      expect((await client.workflow.getHandle(deleteRunId(id)).describe()).status.name).toBe('COMPLETED');
      expect((await promise.describe()).status.name).toBe('COMPLETED');
    });
  });
});
