import { MANUAL_RECONCILIATION_LABEL } from '../../src/core/constants.js';
import { resourceWorkflowId } from '../../src/core/names.js';
import type { LifecycleState } from '../../workflows/definitions.js';
import { testTemporalClient, testTemporalConnection } from '../support/temporal.js';
import { startSystem } from '../../src/system.js';
import { testKubeconfigPath } from '../support/cluster.js';
import { tmpdir } from 'node:os';
import { createTestNamespace } from '../support/cluster.js';
import {
  applyPromise,
  promiseFor,
  resources,
  shPipeline,
  uniqueApi,
  waitForPromiseAvailable,
  waitUntil,
} from '../support/promises.js';

/** A pipeline that counts its runs in status and echoes spec.size. */
const counter = shPipeline('count', [
  `runs=$(sed -n 's/^  runs: \\([0-9]*\\)$/\\1/p' /kratix/input/object.yaml)
size=$(sed -n 's/^  size: \\(.*\\)$/\\1/p' /kratix/input/object.yaml)
echo "runs: $(( \${runs:-0} + 1 ))" > /kratix/metadata/status.yaml
echo "seenSize: \\"$size\\"" >> /kratix/metadata/status.yaml`,
]);

describe('configure triggers', () => {
  it('re-runs on spec updates, on the manual label (then removes it), and on a short per-Promise interval', async () => {
    const api = uniqueApi('trigger');
    await applyPromise(
      promiseFor(api, {
        workflows: { config: { reconciliationInterval: '3s' }, resource: { configure: [counter] } },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('trig');
    const rs = resources(api, ns);
    await rs.create('r1', { size: 'small' });
    const first = await rs.waitFor('r1', 'True');
    expect(first.status).toMatchObject({ seenSize: 'small' });
    const runsAfterCreate = first.status?.runs as number;
    expect(runsAfterCreate).toBeGreaterThanOrEqual(1);

    // Spec update: generation 2 runs with the new value.
    await rs.patch('r1', { spec: { size: 'large' } });
    const updated = await waitUntil('size=large', async () => {
      const o = await rs.get('r1');
      return o.status?.seenSize === 'large' && o.status?.observedGeneration === 2 ? o : undefined;
    });
    expect(updated.metadata.generation).toBe(2);

    // The interval (3s here) re-runs on its own.
    const before = (await rs.get('r1')).status?.runs as number;
    await waitUntil('an interval re-run', async () => ((await rs.get('r1')).status?.runs as number) > before);

    // Manual label: a run happens and the label disappears. (The 3 s interval also re-runs, so
    // the count alone would not prove the label worked: the run's reason says why it ran.)
    await rs.patch('r1', { metadata: { labels: { [MANUAL_RECONCILIATION_LABEL]: 'true' } } });
    await waitUntil(
      'manual label removed',
      async () => (await rs.get('r1')).metadata.labels?.[MANUAL_RECONCILIATION_LABEL] === undefined,
    );
    const { client, close } = await testTemporalClient();
    try {
      const id = resourceWorkflowId({
        promise: api.promise,
        namespace: ns,
        name: 'r1',
        uid: first.metadata.uid!,
      });
      const manualRun = await waitUntil('a run with reason "manual"', async () => {
        const state = await client.workflow.getHandle(id).query<LifecycleState>('state');
        return state.lastRuns.find((r) => r.reason === 'manual' && r.outcome === 'succeeded');
      });
      expect(manualRun.generation).toBe(2);
    } finally {
      await close();
    }

    // Stop the 3-second cadence: deleting ends the lifecycle (the finalizer is released).
    await rs.delete('r1');
    await rs.waitGone('r1');
  });

  it('re-runs on the manual label with the default 10h interval', async () => {
    const api = uniqueApi('manual');
    await applyPromise(promiseFor(api, { workflows: { resource: { configure: [counter] } } }));
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('manual');
    const rs = resources(api, ns);
    await rs.create('r1', { size: 's' });
    const first = await rs.waitFor('r1', 'True');
    expect(first.status?.runs).toBe(1);

    // A controller (re)starting re-lists and re-signals every object: that re-runs nothing.
    const restarted = await startSystem({
      kubeconfig: testKubeconfigPath(),
      temporal: testTemporalConnection(),
      workDir: tmpdir(),
      runWorker: false,
      leaderElection: false, // act next to the test run's controller, like a restarted one would
    });
    await new Promise((r) => setTimeout(r, 3000));
    await restarted.stop();
    expect((await rs.get('r1')).status?.runs).toBe(1);
    await rs.patch('r1', { metadata: { labels: { [MANUAL_RECONCILIATION_LABEL]: 'true' } } });
    const after = await waitUntil('second run', async () => {
      const o = await rs.get('r1');
      return o.status?.runs === 2 && o.metadata.labels?.[MANUAL_RECONCILIATION_LABEL] === undefined
        ? o
        : undefined;
    });
    expect(after.status?.runs).toBe(2);

    // With no interval configured, the lifecycle sleeps on a durable ~10-hour timer (plus jitter).
    const { client, close } = await testTemporalClient();
    try {
      const id = resourceWorkflowId({
        promise: api.promise,
        namespace: ns,
        name: 'r1',
        uid: after.metadata.uid!,
      });
      const history = await client.workflow.getHandle(id).fetchHistory();
      const timers = (history.events ?? [])
        .map((e) => e.timerStartedEventAttributes?.startToFireTimeout?.seconds)
        .filter((s) => s !== undefined && s !== null)
        .map(Number);
      expect(timers.length).toBeGreaterThan(0);
      for (const seconds of timers) {
        expect(seconds).toBeGreaterThanOrEqual(10 * 3600);
        expect(seconds).toBeLessThanOrEqual(10 * 3600 + 300);
      }
    } finally {
      await close();
    }
  });

  it('continues-as-new after 10 runs, carrying its state (the run count survives; the query still answers)', async () => {
    const api = uniqueApi('longlived');
    await applyPromise(
      promiseFor(api, {
        workflows: { config: { reconciliationInterval: '1s' }, resource: { configure: [counter] } },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('can');
    const rs = resources(api, ns);
    const r = await rs.create('r', { size: 's' });
    await waitUntil('12 runs', async () => ((await rs.get('r')).status?.runs as number) >= 12, 180_000);
    const { client, close } = await testTemporalClient();
    try {
      const handle = client.workflow.getHandle(
        resourceWorkflowId({ promise: api.promise, namespace: ns, name: 'r', uid: r.metadata.uid! }),
      );
      const d = await handle.describe();
      expect(d.runId).not.toBe(d.raw.workflowExecutionInfo?.firstRunId);
      const state = await handle.query<{ runCount: number; doneGeneration: number; lastRuns: unknown[] }>(
        'state',
      );
      expect(state.runCount).toBeGreaterThanOrEqual(11);
      expect(state.doneGeneration).toBe(1);
      expect(state.lastRuns.length).toBe(10); // the last 10 runs, carried across continue-as-new
    } finally {
      await close();
    }
    await rs.delete('r');
    await rs.waitGone('r');
  });
});
