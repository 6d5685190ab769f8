import { execFileSync } from 'node:child_process';
import type { temporal } from '@temporalio/proto';
import { resourceWorkflowId } from '../../src/core/names.js';
import { createTestNamespace } from '../support/cluster.js';
import {
  applyPromise,
  eventsFor,
  promiseFor,
  resources,
  shPipeline,
  uniqueApi,
  waitForPromiseAvailable,
  waitUntil,
  type TestApi,
} from '../support/promises.js';
import { localActivityTypes, testTemporalClient } from '../support/temporal.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** The pids of the pipeline shells running the command with this marker (not bubblewrap's). */
const shells = (marker: string) =>
  execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /^\s*(\d+) (.*)$/.exec(l))
    .filter((m) => m && m[2]!.startsWith('sh ') && m[2]!.includes(marker))
    .map((m) => m![1]!);

/** runPipeline's activity tasks and local-activity markers in a lifecycle's history. */
function pipelineSteps(events: HistoryEvent[]) {
  const scheduled = events.filter(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runPipeline',
  ).length;
  const local = localActivityTypes(events).filter((t) => t === 'runPipeline').length;
  return { scheduled, local };
}

async function lifecycle(api: TestApi, ns: string, name: string, uid: string) {
  const { client, close } = await testTemporalClient();
  const handle = client.workflow.getHandle(
    resourceWorkflowId({ promise: api.promise, namespace: ns, name, uid }),
  );
  return { handle, close };
}

describe('pipelines inside the workflow task (local executor)', () => {
  it('a quick pipeline runs as a local activity: no activity task, one workflow task for the run', async () => {
    const api = uniqueApi('quick');
    await applyPromise(
      promiseFor(api, {
        workflows: {
          resource: {
            configure: [shPipeline('quick', ['echo "quick: done" > /kratix/metadata/status.yaml'])],
          },
        },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('quick');
    const rs = resources(api, ns);
    const created = await rs.create('r', {});
    const done = await rs.waitFor('r', 'True');
    expect(done.status).toMatchObject({ quick: 'done' });
    const { handle, close } = await lifecycle(api, ns, 'r', created.metadata.uid!);
    try {
      const events = (await handle.fetchHistory()).events ?? [];
      expect(pipelineSteps(events)).toEqual({ scheduled: 0, local: 1 });
      // Start, the run's one workflow task, then the reconcile timer: nothing between.
      const completedTasks = events.filter((e) => e.workflowTaskCompletedEventAttributes).length;
      expect(completedTasks).toBe(1);
    } finally {
      await close();
    }
  });

  it('a pipeline still running after 5 s is handed, still running, to a regular activity: it runs once and shows as pending', async () => {
    const api = uniqueApi('handover');
    const marker = `handover-${api.promise}`;
    await applyPromise(
      promiseFor(api, {
        workflows: {
          resource: {
            configure: [
              shPipeline('slow', [`sleep 9 # ${marker}`, 'echo "slow: done" > /kratix/metadata/status.yaml']),
            ],
          },
        },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('handover');
    const rs = resources(api, ns);
    const created = await rs.create('r', {});
    const { handle, close } = await lifecycle(api, ns, 'r', created.metadata.uid!);
    try {
      const firstShell = await waitUntil('the container started', () => shells(marker)[0]);
      // After the hand-over the run is a pending activity (Web UI, `temporal workflow describe`).
      const pending = await waitUntil(
        'runPipeline pending',
        async () =>
          (await handle.describe()).raw.pendingActivities?.find(
            (a) => a.activityType?.name === 'runPipeline',
          ),
        20_000,
      );
      expect(pending.heartbeatDetails).toBeTruthy();
      // The container was not stopped and started again: one shell, the one that started first.
      expect(shells(marker)).toEqual([firstShell]);
      const done = await rs.waitFor('r', 'True', undefined, 60_000);
      expect(done.status).toMatchObject({ slow: 'done' });
      const events = (await handle.fetchHistory()).events ?? [];
      expect(pipelineSteps(events)).toEqual({ scheduled: 1, local: 1 });
      const started = (await eventsFor(ns, 'r')).filter((e) => e.reason === 'PipelineStarted');
      expect(started).toHaveLength(1);
    } finally {
      await close();
    }
  });
});
