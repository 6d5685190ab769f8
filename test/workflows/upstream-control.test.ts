// Upstream Kratix's workflow controls on the real workflows (fake activities): a pipeline's
// workflow-control.yaml (suspend, retryAfter), the kratix.io/paused label, the manual label
// interrupting a run, and a Promise waiting for its requiredPromises.
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { promiseWorkflowId, resourceWorkflowId } from '../../src/core/names.js';
import { isPromiseRef, type ResourceRef } from '../../src/core/types.js';
import {
  changedSignal,
  pausedSignal,
  reconcileSignal,
  type LifecycleState,
} from '../../workflows/definitions.js';
import type { promiseLifecycle } from '../../workflows/promise-lifecycle.js';
import {
  eventually,
  fakeActivities,
  Gate,
  resourceRef,
  startLifecycle as startHarnessLifecycle,
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

const startLifecycle = (
  taskQueue: string,
  ref: ResourceRef,
  opts?: Parameters<typeof startHarnessLifecycle>[3],
): ReturnType<typeof startHarnessLifecycle> => startHarnessLifecycle(client, taskQueue, ref, opts);

const runs = (s: LifecycleState) => s.lastRuns.map((r) => `${r.number}:${r.reason}:${r.outcome}`);

describe('workflow-control.yaml, labels and requirements (real workflows, fake activities)', () => {
  it('suspend stops the run after its pipeline and waits, with no timer, until the manual label restarts it from the first pipeline', async () => {
    const ref = resourceRef('suspended');
    let suspend = true;
    const fakes = fakeActivities({
      runPipeline: async (input) =>
        input.pipeline === 'first' && suspend
          ? { gone: false, files: 0, control: { kind: 'suspend' as const, message: 'needs approval' } }
          : { gone: false, files: 0 },
    });
    await t.withWorker(fakes, async (tq) => {
      const h = await startLifecycle(tq, ref);
      const s = await stateWhere(h, 'suspended', (x) => x.phase === 'suspended');
      expect(runs(s)).toEqual(['1:created:suspended']);
      expect(s.nextReconcileAt).toBeUndefined();
      expect(fakes.of('runPipeline').map((c) => c.input.pipeline)).toEqual(['first']);
      expect(fakes.of('completeConfigureRun')).toHaveLength(0);
      // An unrelated signal (a required Promise changed) does not wake it.
      await h.signal(reconcileSignal, { reason: 'requirements' });
      suspend = false;
      await h.signal(reconcileSignal, { reason: 'manual' });
      const after = await stateWhere(h, 'resumed run', (x) => x.lastRuns.length === 2 && x.phase === 'idle');
      expect(runs(after)).toEqual(['1:created:suspended', '2:manual:succeeded']);
      expect(fakes.of('runPipeline').map((c) => c.input.pipeline)).toEqual(['first', 'first', 'second']);
      await h.terminate();
    });
  });

  it('retryAfter re-runs the same pipeline after a durable timer, counting attempts', async () => {
    const ref = resourceRef('retried');
    const fakes = fakeActivities({
      runPipeline: async (input) =>
        input.pipeline === 'first' && (input.attempt ?? 1) < 3
          ? {
              gone: false,
              files: 0,
              control: { kind: 'retry' as const, retryAfterMs: 1000, retryAfter: '1s' },
            }
          : { gone: false, files: 0 },
    });
    await t.withWorker(fakes, async (tq) => {
      const h = await startLifecycle(tq, ref);
      const s = await stateWhere(h, 'run done', (x) => x.lastRuns.length === 1 && x.phase === 'idle');
      expect(runs(s)).toEqual(['1:created:succeeded']);
      expect(fakes.of('runPipeline').map((c) => `${c.input.pipeline}/${c.input.attempt ?? 1}`)).toEqual([
        'first/1',
        'first/2',
        'first/3',
        'second/1',
      ]);
      // The run ran inside the lifecycle: its durable timers are in the lifecycle's history.
      const events = (await h.fetchHistory()).events ?? [];
      const timers = events
        .map((e) => e.timerStartedEventAttributes?.startToFireTimeout?.seconds)
        .filter((x) => x !== undefined && x !== null)
        .map(Number)
        .filter((seconds) => seconds < 3600); // not the 10 h reconcile timer of the idle lifecycle
      expect(timers).toEqual([1, 1]);
      await h.terminate();
    });
  });

  it('the manual label interrupts the pipeline in flight and restarts from the first pipeline', async () => {
    const ref = resourceRef('interrupted');
    const gate = new Gate();
    const fakes = fakeActivities({
      runPipeline: async (input) => {
        if (input.pipeline === 'second' && !gate.entered) await gate.hold();
        return { gone: false, files: 0 };
      },
    });
    await t.withWorker(fakes, async (tq) => {
      const h = await startLifecycle(tq, ref);
      await eventually('second pipeline running', () => gate.entered);
      await h.signal(reconcileSignal, { reason: 'manual' });
      const s = await stateWhere(h, 'restarted run', (x) => x.lastRuns.length === 2 && x.phase === 'idle');
      expect(gate.cancelled).toBe(true);
      expect(runs(s)).toEqual(['1:created:superseded', '2:manual:succeeded']);
      expect(fakes.of('runPipeline').map((c) => c.input.pipeline)).toEqual([
        'first',
        'second',
        'first',
        'second',
      ]);
      await h.terminate();
    });
  });

  it('kratix.io/paused: no run while paused, the object says so, and removing the label runs it', async () => {
    const ref = resourceRef('paused');
    const fakes = fakeActivities();
    await t.withWorker(fakes, async (tq) => {
      // What the controller does for a new paused object: paused first, then changed.
      await client.workflow.signalWithStart('resourceLifecycle', {
        workflowId: resourceWorkflowId(ref),
        taskQueue: tq,
        args: [{ ref, inlineRuns: true as const }],
        signal: pausedSignal,
        signalArgs: [{ paused: true }],
      });
      const h = await startLifecycle(tq, ref);
      await stateWhere(h, 'paused', (x) => x.phase === 'paused');
      await eventually('markPaused(true)', () => fakes.of('markPaused').length === 1);
      await new Promise((r) => setTimeout(r, 500));
      expect(fakes.of('runPipeline')).toHaveLength(0);
      expect(fakes.of('markPaused')[0]!.input.paused).toBe(true);
      await h.signal(pausedSignal, { paused: false });
      const s = await stateWhere(h, 'ran', (x) => x.lastRuns.length === 1 && x.phase === 'idle');
      expect(runs(s)).toEqual(['1:unpaused:succeeded']);
      expect(fakes.of('markPaused').map((c) => c.input.paused)).toEqual([true, false]);
      await h.terminate();
    });
  });

  it('a Promise with unmet requiredPromises waits (no timer) and goes on when told a required Promise changed', async () => {
    const name = 'app';
    const uid = randomUUID();
    let unmet: string | undefined = 'Requirements not fulfilled: Promise "db" at version v1 is not installed';
    const fakes = fakeActivities({
      installPromise: async () => ({
        gone: false,
        intervalMs: 36_000_000,
        ...(unmet ? { unmetRequirements: unmet } : {}),
      }),
      runPipeline: async (input) => {
        expect(isPromiseRef(input.ref)).toBe(true);
        return { gone: false, files: 0 };
      },
    });
    await t.withWorker(fakes, async (tq) => {
      const h = await client.workflow.signalWithStart<
        typeof promiseLifecycle,
        [{ generation: number; specHash: string }]
      >('promiseLifecycle', {
        workflowId: promiseWorkflowId(name, uid),
        taskQueue: tq,
        args: [{ name, uid, inlineRuns: true as const }],
        signal: changedSignal,
        signalArgs: [{ generation: 1, specHash: 'p1' }],
      });
      const s = await stateWhere(h, 'waiting', (x) => x.phase === 'waiting-requirements');
      expect(s.nextReconcileAt).toBeUndefined();
      expect(fakes.of('runPipeline')).toHaveLength(0);
      unmet = undefined;
      await h.signal(reconcileSignal, { reason: 'requirements' });
      const done = await stateWhere(h, 'configured', (x) => x.lastRuns.length === 2 && x.phase === 'idle');
      expect(runs(done)).toEqual(['1:created:blocked', '2:requirements:succeeded']);
      expect(fakes.of('runPipeline').length).toBeGreaterThan(0);
      // A required Promise that goes away later: the controller's word makes it check again.
      unmet = 'Requirements not fulfilled: Promise "db" is not installed';
      await h.signal(reconcileSignal, { reason: 'requirements' });
      const again = await stateWhere(
        h,
        'waiting again',
        (x) => x.lastRuns.length === 3 && x.phase === 'waiting-requirements',
      );
      expect(runs(again)[2]).toBe('3:requirements:blocked');
      await h.terminate();
    });
  });
});
