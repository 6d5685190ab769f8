// The entity loop of resourceLifecycle, end to end on a real Temporal server with fake activities:
// backoff, supersede, delete during a run and a blocked delete.
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { configureRunId, deleteRunId, resourceWorkflowId } from '../../src/core/names.js';
import { SA } from '../../src/core/search-attributes.js';
import type { ResourceRef } from '../../src/core/types.js';
import {
  changedSignal,
  deleteSignal,
  reconcileSignal,
  type LifecycleState,
} from '../../workflows/definitions.js';
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

const pipelineFailed = (message: string) => ApplicationFailure.nonRetryable(message, 'PipelineFailed');

function runs(s: LifecycleState) {
  return s.lastRuns.map((r) => ({
    number: r.number,
    outcome: r.outcome,
    generation: r.generation,
    reason: r.reason,
  }));
}

async function status(workflowId: string): Promise<string | undefined> {
  return (await client.workflow.getHandle(workflowId).describe()).status.name;
}

async function historyEvents(workflowId: string) {
  return (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
}

describe('resourceLifecycle (real workflows, fake activities)', () => {
  it('a failed run waits 10 s (waiting-retry, nextReconcileAt); a changed spec runs again at once', async () => {
    const fakes = fakeActivities({
      runPipeline: async (input) => {
        if (input.generation === 1) throw pipelineFailed('container main exited with code 1');
        return { gone: false, files: 0 };
      },
    });
    await t.withWorker(fakes, async (taskQueue) => {
      const ref = resourceRef('backoff');
      const id = resourceWorkflowId(ref);
      const handle = await startLifecycle(taskQueue, ref);

      const failed = await stateWhere(handle, 'the failed run', (s) => s.phase === 'waiting-retry');
      expect(failed).toMatchObject({
        consecutiveFailures: 1,
        runCount: 1,
        doneHash: 'h1',
        doneGeneration: 0,
      });
      expect(failed.lastRuns).toEqual([
        expect.objectContaining({
          number: 1,
          outcome: 'failed',
          reason: 'created',
          workflowId: configureRunId(id, 1),
          error: 'container main exited with code 1',
        }),
      ]);
      // The first backoff is 10 s (failureBackoffMs); the timer started when the run failed.
      const retryIn = Date.parse(failed.nextReconcileAt!) - Date.now();
      expect(retryIn).toBeGreaterThan(7_000);
      expect(retryIn).toBeLessThanOrEqual(10_000);
      // The failed spec is not re-run by itself before the timer.
      expect(fakes.of('startConfigureRun')).toHaveLength(1);
      // The Web UI filter for failing objects (KratixRunStatus="failed"), and why it waits.
      const desc = await handle.describe();
      expect(desc.typedSearchAttributes.get(SA.runStatus)).toBe('failed');
      const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
      expect(metadata.currentDetails).toContain('run 1 failed: container main exited with code 1');

      const signalled = Date.now();
      await handle.signal(changedSignal, { generation: 2, specHash: 'h2' });
      const ok = await stateWhere(
        handle,
        'the run of the new spec',
        (s) => s.runCount === 2 && s.phase === 'idle',
      );
      expect(Date.now() - signalled).toBeLessThan(5_000);
      expect(ok).toMatchObject({ consecutiveFailures: 0, doneHash: 'h2', doneGeneration: 2 });
      expect((await handle.describe()).typedSearchAttributes.get(SA.runStatus)).toBeUndefined();
      expect(ok.lastRuns[1]).toEqual({
        number: 2,
        outcome: 'succeeded',
        generation: 2,
        reason: 'spec-changed',
        workflowId: configureRunId(id, 2),
        // What `kratix-temporal runs` shows: when it ran, and the execution to open in the Web UI.
        startedAt: expect.any(String),
        endedAt: expect.any(String),
        execution: (await handle.describe()).runId,
        inline: true, // it ran inside the lifecycle
      });
      expect(Date.parse(ok.lastRuns[1]!.endedAt!)).toBeGreaterThanOrEqual(
        Date.parse(ok.lastRuns[1]!.startedAt!),
      );
      // Back to the 10 h reconcile interval (plus up to 5 min jitter).
      const next = Date.parse(ok.nextReconcileAt!) - Date.now();
      expect(next).toBeGreaterThan(10 * 3600_000 - 60_000);
      expect(next).toBeLessThanOrEqual(10 * 3600_000 + 5 * 60_000);

      expect(
        fakes.of('runPipeline').map((c) => [c.workflowId, c.input.pipeline, c.input.generation]),
      ).toEqual([
        [configureRunId(id, 1), 'first', 1],
        [configureRunId(id, 2), 'first', 2],
        [configureRunId(id, 2), 'second', 2],
      ]);
      expect(fakes.of('completeConfigureRun').map((c) => c.input.generation)).toEqual([2]);
      await handle.terminate();
    });
  });

  it('the backoff timer retries a failed run (reason "retry"); the reconcile interval comes from the run', async () => {
    let attempts = 0;
    const fakes = fakeActivities({
      // The interval the run reports (Promise or ConfigMap): short, so the timers fire in the test.
      startConfigureRun: async () => ({
        gone: false,
        intervalMs: 1_500,
        pipelines: [{ name: 'only', containers: 1 }],
      }),
      runPipeline: async () => {
        if (++attempts === 1) throw pipelineFailed('flaky');
        return { gone: false, files: 0 };
      },
    });
    await t.withWorker(fakes, async (taskQueue) => {
      const ref = resourceRef('retry');
      // State carried across continue-as-new: a 1.5 s interval also caps the failure backoff.
      const state: LifecycleState = {
        phase: 'idle',
        wantedGeneration: 0,
        wantedHash: '',
        doneGeneration: 0,
        runCount: 0,
        consecutiveFailures: 0,
        lastRuns: [],
        deleting: false,
        intervalMs: 1_500,
      };
      const handle = await startLifecycle(taskQueue, ref, { state });
      const s = await stateWhere(handle, 'a retry and an interval run', (x) => x.lastRuns.length >= 3);
      expect(runs(s).slice(0, 3)).toEqual([
        { number: 1, outcome: 'failed', generation: 1, reason: 'created' },
        { number: 2, outcome: 'succeeded', generation: 1, reason: 'retry' },
        { number: 3, outcome: 'succeeded', generation: 1, reason: 'interval' },
      ]);
      expect(
        fakes
          .of('startConfigureRun')
          .map((c) => c.input.reason)
          .slice(0, 3),
      ).toEqual(['created', 'retry', 'interval']);
      await handle.terminate();
    });
  });

  it('a changed spec during a pipeline lets it finish, then restarts from pipeline 1 with the new generation', async () => {
    const gate = new Gate();
    const fakes = fakeActivities({
      runPipeline: async (input) => {
        if (input.generation === 1 && input.pipeline === 'first') await gate.hold();
        return { gone: false, files: 0 };
      },
    });
    await t.withWorker(fakes, async (taskQueue) => {
      const ref = resourceRef('supersede');
      const id = resourceWorkflowId(ref);
      const run1 = configureRunId(id, 1);
      const handle = await startLifecycle(taskQueue, ref);
      await eventually('pipeline "first" of run 1', () => gate.entered);
      expect(await handle.query('state')).toMatchObject({ phase: 'configuring', currentRun: run1 });

      await handle.signal(changedSignal, { generation: 2, specHash: 'h2' });
      // The run in flight learns of it (it runs inside the lifecycle) while its pipeline still runs.
      const during = await stateWhere(handle, 'generation 2 wanted', (x) => x.wantedGeneration === 2);
      expect(during).toMatchObject({ phase: 'configuring', currentRun: run1, currentPipeline: 'first' });
      gate.release();

      const s = await stateWhere(handle, 'run 2', (x) => x.runCount === 2 && x.phase === 'idle');
      expect(runs(s)).toEqual([
        { number: 1, outcome: 'superseded', generation: 1, reason: 'created' },
        // Nothing was ever done for this Resource, so the restart is still its first configuration.
        { number: 2, outcome: 'succeeded', generation: 2, reason: 'created' },
      ]);
      expect(s).toMatchObject({ doneGeneration: 2, doneHash: 'h2', consecutiveFailures: 0 });
      // Pipeline "second" of run 1 never ran; run 2 started over from "first".
      expect(
        fakes.of('runPipeline').map((c) => [c.workflowId, c.input.pipeline, c.input.generation]),
      ).toEqual([
        [run1, 'first', 1],
        [configureRunId(id, 2), 'first', 2],
        [configureRunId(id, 2), 'second', 2],
      ]);
      expect(fakes.of('completeConfigureRun').map((c) => [c.workflowId, c.input.generation])).toEqual([
        [configureRunId(id, 2), 2],
      ]);
      await handle.terminate();
    });
  });

  it('a lifecycle recorded before inline runs: a changed signal arriving as its child run finishes (supersede to a closed child) does not fail it', async () => {
    const ref = resourceRef('late-change');
    const id = resourceWorkflowId(ref);
    const run1 = configureRunId(id, 1);
    let completing!: () => void;
    const run1Completing = new Promise<void>((resolve) => (completing = resolve));
    const fakes = fakeActivities({
      completeConfigureRun: async (input) => {
        if (input.runId !== run1) return;
        completing();
        // Its worker is shutting down meanwhile: it takes no new task (the lifecycle's) once run 1 closes.
        await new Promise((r) => setTimeout(r, 300));
      },
    });
    const taskQueue = `wf-test-late-change-${ref.uid}`;
    // No sticky cache: once this worker is gone, the lifecycle's next task waits on the task queue.
    const first = await t.worker(fakes, taskQueue, { maxCachedWorkflows: 0 });
    const firstRunning = first.run();
    const handle = await startLifecycle(taskQueue, ref, { childRuns: true });
    await run1Completing;
    first.shutdown();
    await firstRunning;
    // Run 1 closed, and its parent has not seen it yet: the signal lands in the same workflow task
    // as the child's completion, while the lifecycle still believes it is configuring.
    await eventually('run 1 completed', async () => (await status(run1)) === 'COMPLETED');
    await handle.signal(changedSignal, { generation: 2, specHash: 'h2' });
    const second = await t.worker(fakes, taskQueue);
    await second.runUntil(async () => {
      const s = await stateWhere(handle, 'run 2', (x) => x.runCount === 2 && x.phase === 'idle');
      expect(runs(s)).toEqual([
        { number: 1, outcome: 'succeeded', generation: 1, reason: 'created' },
        { number: 2, outcome: 'succeeded', generation: 2, reason: 'spec-changed' },
      ]);
      const events = await historyEvents(id);
      // The supersede signal went to the closed child and failed; the failure was caught.
      expect(events.some((e) => e.signalExternalWorkflowExecutionFailedEventAttributes)).toBe(true);
      expect(events.some((e) => e.workflowTaskFailedEventAttributes)).toBe(false);
      expect(await status(id)).toBe('RUNNING');
      await handle.terminate();
    });
  });

  it('a lifecycle started before inline runs keeps its child runs, then runs inside itself after its next continue-as-new', async () => {
    const fakes = fakeActivities();
    await t.withWorker(fakes, async (taskQueue) => {
      const ref = resourceRef('upgraded');
      const id = resourceWorkflowId(ref);
      // Nine runs done: the next one is the tenth, after which the lifecycle continues-as-new.
      const state: LifecycleState = {
        phase: 'idle',
        wantedGeneration: 1,
        wantedHash: 'h1',
        doneHash: 'h1',
        doneGeneration: 1,
        runCount: 9,
        consecutiveFailures: 0,
        lastRuns: [],
        deleting: false,
      };
      const handle = await startLifecycle(taskQueue, ref, {
        childRuns: true,
        state,
        generation: 2,
        specHash: 'h2',
      });
      const first = (await handle.describe()).runId;
      const ten = await stateWhere(handle, 'run 10', (x) => x.runCount === 10 && x.phase === 'idle');
      expect(await status(configureRunId(id, 10))).toBe('COMPLETED'); // a child, as it was recorded
      expect((await handle.describe()).runId).not.toBe(first); // continued-as-new
      expect(ten.lastRuns.map((r) => [r.number, r.execution])).toEqual([[10, first]]);

      await handle.signal(changedSignal, { generation: 3, specHash: 'h3' });
      const s = await stateWhere(handle, 'run 11', (x) => x.runCount === 11 && x.phase === 'idle');
      expect(s.lastRuns.map((r) => [r.number, r.inline ?? false])).toEqual([
        [10, false],
        [11, true],
      ]);
      expect(runs(s).at(-1)).toEqual({
        number: 11,
        outcome: 'succeeded',
        generation: 3,
        reason: 'spec-changed',
      });
      // Run 11 ran inside the new execution: no child, its pipelines in the lifecycle's history.
      await expect(status(configureRunId(id, 11))).rejects.toThrow(/not found/i);
      const scheduled = (await historyEvents(id)).filter(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runPipeline',
      );
      expect(scheduled).toHaveLength(2);
      expect(fakes.of('runPipeline').map((c) => c.workflowId)).toEqual([
        configureRunId(id, 10),
        configureRunId(id, 10),
        configureRunId(id, 11),
        configureRunId(id, 11),
      ]);
      await handle.terminate();
    });
  });

  it('delete during a run cancels its pipeline, runs the delete run, then releases the finalizer', async () => {
    const gate = new Gate();
    const fakes = fakeActivities({
      runPipeline: async (input) => {
        if (input.action === 'configure') await gate.hold();
        return { gone: false, files: 0 };
      },
    });
    await t.withWorker(fakes, async (taskQueue) => {
      const ref = resourceRef('delete-during-run');
      const id = resourceWorkflowId(ref);
      const handle = await startLifecycle(taskQueue, ref);
      await eventually('the configure pipeline', () => gate.entered);

      await handle.signal(deleteSignal);
      await handle.result(); // the lifecycle completes

      expect(gate.cancelled).toBe(true);
      const events = await historyEvents(id);
      expect(events.filter((e) => e.activityTaskCancelRequestedEventAttributes)).toHaveLength(1);
      expect(events.filter((e) => e.activityTaskCanceledEventAttributes)).toHaveLength(1);
      expect(await status(deleteRunId(id))).toBe('COMPLETED');
      expect(fakes.names()).toEqual([
        'startConfigureRun',
        'ensurePipelineIdentity',
        'runPipeline', // cancelled
        'startDeleteRun',
        'ensurePipelineIdentity',
        'runPipeline',
        'removeFromStateStores',
        'finishResourceDelete',
      ]);
      expect(fakes.of('runPipeline').map((c) => [c.workflowId, c.input.action, c.input.pipeline])).toEqual([
        [configureRunId(id, 1), 'configure', 'first'],
        [deleteRunId(id), 'delete', 'cleanup'],
      ]);
      expect(fakes.of('finishResourceDelete')[0]!.input).toEqual({ ref });
      expect(fakes.of('completeConfigureRun')).toEqual([]);
      const desc = await handle.describe();
      expect(desc.typedSearchAttributes.get(SA.workflowAction)).toBe('delete');
    });
  });

  it('a failing object deleted: its closed lifecycle is no longer among the failing (KratixRunStatus removed)', async () => {
    const fakes = fakeActivities({
      runPipeline: async (input) => {
        if (input.action === 'configure') throw pipelineFailed('container main exited with code 1');
        return { gone: false, files: 0 };
      },
    });
    await t.withWorker(fakes, async (taskQueue) => {
      const ref = resourceRef('failing-deleted');
      const handle = await startLifecycle(taskQueue, ref);
      await stateWhere(handle, 'the failed run', (s) => s.phase === 'waiting-retry');
      expect((await handle.describe()).typedSearchAttributes.get(SA.runStatus)).toBe('failed');

      await handle.signal(deleteSignal);
      await handle.result();
      const desc = await handle.describe();
      expect(desc.typedSearchAttributes.get(SA.runStatus)).toBeUndefined();
      expect(desc.typedSearchAttributes.get(SA.workflowAction)).toBe('delete');
      // Removed in the update that marks the delete: no extra visibility write for it.
      const deleteUpdate = (await historyEvents(resourceWorkflowId(ref)))
        .map((e) => e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields)
        .find((f) => f && SA.workflowAction.name in f);
      expect(Object.keys(deleteUpdate ?? {}).sort()).toEqual(
        [SA.runStatus.name, SA.workflowAction.name].sort(),
      );
    });
  });

  it('a failed delete pipeline blocks the delete until the manual label retries it', async () => {
    let deleteAttempts = 0;
    const fakes = fakeActivities({
      runPipeline: async (input) => {
        if (input.action === 'delete' && ++deleteAttempts === 1)
          throw pipelineFailed('cleanup exited with code 3');
        return { gone: false, files: 0 };
      },
    });
    await t.withWorker(fakes, async (taskQueue) => {
      const ref = resourceRef('blocked-delete');
      const id = resourceWorkflowId(ref);
      const handle = await startLifecycle(taskQueue, ref);
      await stateWhere(handle, 'the first run', (s) => s.runCount === 1 && s.phase === 'idle');

      await handle.signal(deleteSignal);
      await eventually('markDeleteBlocked', () => fakes.of('markDeleteBlocked').length === 1);
      expect(fakes.of('markDeleteBlocked')[0]!.input).toEqual({ ref, error: 'cleanup exited with code 3' });
      expect(await status(deleteRunId(id))).toBe('FAILED');
      expect(await handle.query('state')).toMatchObject({ phase: 'deleting', deleting: true });

      // Only the manual label retries: a Promise update does not.
      await handle.signal(reconcileSignal, { reason: 'promise-updated' });
      await new Promise((r) => setTimeout(r, 500));
      expect(fakes.of('startDeleteRun')).toHaveLength(1);
      expect(fakes.of('finishResourceDelete')).toEqual([]);
      expect(await status(id)).toBe('RUNNING');

      await handle.signal(reconcileSignal, { reason: 'manual' });
      await handle.result();
      expect(await status(`${deleteRunId(id)}/2`)).toBe('COMPLETED');
      expect(fakes.of('startDeleteRun').map((c) => c.workflowId)).toEqual([
        deleteRunId(id),
        `${deleteRunId(id)}/2`,
      ]);
      expect(fakes.names().slice(-3)).toEqual([
        'runPipeline',
        'removeFromStateStores',
        'finishResourceDelete',
      ]);
      // The failed attempt never removed the files.
      expect(fakes.of('removeFromStateStores').map((c) => c.workflowId)).toEqual([`${deleteRunId(id)}/2`]);
    });
  });
});
