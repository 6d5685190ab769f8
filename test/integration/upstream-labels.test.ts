// Upstream Kratix's control labels: kratix.io/paused on a Promise or a Resource (no runs while
// paused, Reconciled=Unknown/PausedReconciliation and an Event; removing it runs again),
// kratix.io/reconcile-resources on a Promise (every Resource re-runs, then the label goes), and the
// manual-reconciliation label interrupting a run in flight (it restarts from the first pipeline).
import { MANUAL_RECONCILIATION_LABEL } from '../../src/core/constants.js';
import { resourceWorkflowId } from '../../src/core/names.js';
import type { KratixPromise } from '../../src/core/types.js';
import type { LifecycleState } from '../../workflows/definitions.js';
import { createTestNamespace, testKubeConfig } from '../support/cluster.js';
import {
  applyPromise,
  condition,
  eventsFor,
  getPromise,
  promiseFor,
  resources,
  shPipeline,
  uniqueApi,
  waitForPromiseAvailable,
  waitUntil,
} from '../support/promises.js';
import { testTemporalClient } from '../support/temporal.js';
import * as k8s from '@kubernetes/client-node';

/** Counts its runs in status and echoes spec.size. */
const counter = shPipeline('count', [
  `runs=$(sed -n 's/^  runs: \\([0-9]*\\)$/\\1/p' /kratix/input/object.yaml)
size=$(sed -n 's/^  size: \\(.*\\)$/\\1/p' /kratix/input/object.yaml)
echo "runs: $(( \${runs:-0} + 1 ))" > /kratix/metadata/status.yaml
echo "seenSize: \\"$size\\"" >> /kratix/metadata/status.yaml`,
]);

const promiseApi = { group: 'platform.kratix.io', version: 'v1alpha1', plural: 'promises' };
function patchPromise(name: string, body: unknown): Promise<KratixPromise> {
  return testKubeConfig()
    .makeApiClient(k8s.CustomObjectsApi)
    .patchClusterCustomObject(
      { ...promiseApi, name, body },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    ) as Promise<KratixPromise>;
}

const settle = () => new Promise((r) => setTimeout(r, 3000));

describe('upstream labels', () => {
  it('kratix.io/paused on a Resource, then on its Promise: no runs while paused, the status and an Event say so, removing the label runs again', async () => {
    const api = uniqueApi('pausing');
    await applyPromise(promiseFor(api, { workflows: { resource: { configure: [counter] } } }));
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('pausing');
    const rs = resources(api, ns);

    // Created paused: nothing runs.
    await rs.create('r', { size: 'small' }, { 'kratix.io/paused': 'true' });
    const paused = await waitUntil('Reconciled=Paused', async () => {
      const o = await rs.get('r');
      return condition(o, 'Reconciled')?.reason === 'PausedReconciliation' ? o : undefined;
    });
    expect(condition(paused, 'Reconciled')).toMatchObject({ status: 'Unknown', message: 'Paused' });
    await settle();
    expect((await rs.get('r')).status?.runs).toBeUndefined();
    const event = (await eventsFor(ns, 'r')).find((e) => e.reason === 'PausedReconciliation');
    expect(event).toMatchObject({
      type: 'Warning',
      message: expect.stringContaining("'kratix.io/paused' label set to 'true'"),
    });

    // Removing the label runs it.
    await rs.patch('r', { metadata: { labels: { 'kratix.io/paused': null } } });
    const ran = await rs.waitFor('r', 'True');
    expect(ran.status).toMatchObject({ runs: 1, seenSize: 'small' });

    // The Promise paused: its Resources do not run on a spec change, and the Promise says so.
    await patchPromise(api.promise, { metadata: { labels: { 'kratix.io/paused': 'true' } } });
    await waitUntil('Promise Reconciled=Paused', async () => {
      const p = await getPromise(api.promise);
      return condition(p, 'Reconciled')?.reason === 'PausedReconciliation';
    });
    await waitUntil('Resource Reconciled=Paused', async () => {
      const o = await rs.get('r');
      return condition(o, 'Reconciled')?.reason === 'PausedReconciliation';
    });
    await rs.patch('r', { spec: { size: 'large' } });
    await settle();
    expect((await rs.get('r')).status).toMatchObject({ runs: 1, seenSize: 'small' });

    // Resumed: the change is applied.
    await patchPromise(api.promise, { metadata: { labels: { 'kratix.io/paused': null } } });
    const resumed = await waitUntil('run with size large', async () => {
      const o = await rs.get('r');
      return o.status?.seenSize === 'large' ? o : undefined;
    });
    expect(resumed.status?.runs).toBeGreaterThanOrEqual(2);
    expect((await eventsFor(ns, 'r')).some((e) => e.reason === 'ReconciliationResumed')).toBe(true);
    await rs.delete('r');
    await rs.waitGone('r');
  });

  it('kratix.io/reconcile-resources on a Promise re-runs every Resource, then the label is removed', async () => {
    const api = uniqueApi('rerunall');
    await applyPromise(promiseFor(api, { workflows: { resource: { configure: [counter] } } }));
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('rerunall');
    const rs = resources(api, ns);
    await rs.create('a', { size: 's' });
    await rs.create('b', { size: 's' });
    await rs.waitFor('a', 'True');
    await rs.waitFor('b', 'True');

    await patchPromise(api.promise, { metadata: { labels: { 'kratix.io/reconcile-resources': 'true' } } });
    await waitUntil('both re-ran', async () => {
      const [a, b] = [await rs.get('a'), await rs.get('b')];
      return a.status?.runs === 2 && b.status?.runs === 2;
    });
    const p = await waitUntil('label removed', async () => {
      const x = await getPromise(api.promise);
      return x.metadata.labels?.['kratix.io/reconcile-resources'] === undefined ? x : undefined;
    });
    expect(p.metadata.labels?.['kratix.io/reconcile-resources']).toBeUndefined();
    // Exactly once per labelling.
    await settle();
    expect((await rs.get('a')).status?.runs).toBe(2);
  });

  it('the manual-reconciliation label interrupts a run in flight and restarts it from the first pipeline', async () => {
    const api = uniqueApi('interrupt');
    // The first pipeline hangs unless the object is annotated fast: "yes"; the second records it ran.
    const slow = shPipeline('slow', [
      `grep -Eq 'fast: "?yes' /kratix/input/object.yaml || sleep 120
echo "slow: done" > /kratix/metadata/status.yaml`,
    ]);
    const second = shPipeline('second', ['echo "second: done" > /kratix/metadata/status.yaml']);
    await applyPromise(promiseFor(api, { workflows: { resource: { configure: [slow, second] } } }));
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('interrupt');
    const rs = resources(api, ns);
    const r = await rs.create('r', {});
    await waitUntil('slow pipeline running', async () => {
      const o = await rs.get('r');
      const pipelines = (o.status?.kratix as { workflows?: { pipelines?: { phase: string }[] } } | undefined)
        ?.workflows?.pipelines;
      return pipelines?.[0]?.phase === 'Running';
    });

    const labelled = Date.now();
    await rs.patch('r', {
      metadata: { annotations: { fast: 'yes' }, labels: { [MANUAL_RECONCILIATION_LABEL]: 'true' } },
    });
    const done = await rs.waitFor('r', 'True', undefined, 60_000);
    // Without the interrupt the first pipeline would still sleep for two minutes.
    expect(Date.now() - labelled).toBeLessThan(60_000);
    expect(done.status).toMatchObject({ slow: 'done', second: 'done' });

    const { client, close } = await testTemporalClient();
    try {
      const id = resourceWorkflowId({ promise: api.promise, namespace: ns, name: 'r', uid: r.metadata.uid! });
      const state = await client.workflow.getHandle(id).query<LifecycleState>('state');
      expect(state.lastRuns.map((x) => `${x.reason}:${x.outcome}`)).toEqual([
        'created:superseded',
        'manual:succeeded',
      ]);
    } finally {
      await close();
    }
    await rs.delete('r');
    await rs.waitGone('r');
  });
});
