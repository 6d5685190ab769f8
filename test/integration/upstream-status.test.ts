// Issue 12 item 2: upstream's conditions, counters and printer columns next to ours, so tooling
// written for upstream Kratix (kubectl wait, dashboards) works unchanged.
import { createTestNamespace, kubectl } from '../support/cluster.js';
import {
  condition,
  eventsFor,
  getPromise,
  promiseFor,
  resources,
  shPipeline,
  uniqueApi,
  waitUntil,
  applyPromise,
} from '../support/promises.js';

describe('upstream conditions and status', () => {
  it('Promise and Resources carry ConfigureWorkflowCompleted, Reconciled, WorksSucceeded, DeleteWorkflowCompleted and the counters', async () => {
    const api = uniqueApi('stat');
    const promise = promiseFor(api, {
      workflows: {
        promise: { configure: [shPipeline('setup', ['echo promise ok'])] },
        resource: {
          configure: [
            shPipeline('first', ['grep -q "fail: yes" /kratix/input/object.yaml && exit 3 || true']),
            shPipeline('second', ['printf "ready: yes\\n" > /kratix/metadata/status.yaml']),
          ],
          delete: [
            shPipeline('teardown', ['grep -q "failDelete: yes" /kratix/input/object.yaml && exit 4 || true']),
          ],
        },
      },
    });
    promise.metadata.labels = { 'kratix.io/promise-version': 'v1.2.3' };
    await applyPromise(promise);

    // kubectl wait with upstream's condition name, on the Promise.
    const waited = await kubectl([
      'wait',
      `promise/${api.promise}`,
      '--for=condition=ConfigureWorkflowCompleted',
      '--timeout=120s',
    ]);
    expect(waited.code).toBe(0);
    const p = await waitUntil('promise Available', async () => {
      const o = await getPromise(api.promise);
      return condition(o, 'Available')?.status === 'True' ? o : undefined;
    });
    expect(condition(p, 'PipelineCompleted')?.status).toBe('True');
    expect(condition(p, 'Reconciled')).toMatchObject({ status: 'True', reason: 'Reconciled' });
    expect(p.status).toMatchObject({
      status: 'Available',
      kind: api.kind,
      apiVersion: `${api.group}/${api.version}`,
      version: 'v1.2.3',
      workflows: 1,
      workflowsSucceeded: 1,
      workflowsFailed: 0,
    });
    // Upstream's printer columns: Status, Kind, API Version, Version, Message.
    const table = await kubectl(['get', 'promise', api.promise]);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+STATUS\s+KIND\s+API VERSION\s+VERSION\s+MESSAGE/);
    expect(table.stdout).toContain(`Available   ${api.kind}`);
    expect(table.stdout).toMatch(
      new RegExp(`${api.group}/${api.version}\\s+v1\\.2\\.3\\s+Promise configured`),
    );

    const ns = await createTestNamespace('up-status');
    const r = resources(api, ns);
    await Promise.all([r.create('good', {}), r.create('bad', { fail: 'yes' })]);
    const good = await kubectl([
      'wait',
      `${api.plural}.${api.group}/good`,
      '-n',
      ns,
      '--for=condition=ConfigureWorkflowCompleted',
      '--timeout=120s',
    ]);
    expect(good.code).toBe(0);
    const g = await r.waitFor('good', 'True');
    expect(condition(g, 'WorksSucceeded')?.status).toBe('True');
    expect(condition(g, 'Reconciled')).toMatchObject({ status: 'True', reason: 'Reconciled' });
    expect(g.status).toMatchObject({ workflows: 2, workflowsSucceeded: 2, workflowsFailed: 0 });

    const b = await r.waitFor('bad', 'False', 'PipelineFailed');
    expect(condition(b, 'ConfigureWorkflowCompleted')).toMatchObject({
      status: 'False',
      reason: 'ConfigureWorkflowFailed',
    });
    expect(condition(b, 'ConfigureWorkflowCompleted')?.message).toContain('Pipeline "first" failed');
    expect(condition(b, 'Reconciled')).toMatchObject({ status: 'False', reason: 'ConfigureWorkflowFailed' });
    expect(b.status).toMatchObject({ workflows: 2, workflowsSucceeded: 0, workflowsFailed: 1 });
    expect(
      (await eventsFor(ns, 'bad')).some((e) => e.reason === 'PipelineFailed' && e.type === 'Warning'),
    ).toBe(true);

    // A failing delete pipeline: DeleteWorkflowCompleted=False next to DeletePipelineCompleted.
    await r.patch('good', { spec: { failDelete: 'yes' } });
    await r.waitFor('good', 'True');
    await r.delete('good');
    const stuck = await waitUntil('delete failed', async () => {
      const o = await r.get('good');
      return condition(o, 'DeletePipelineCompleted')?.status === 'False' ? o : undefined;
    });
    expect(condition(stuck, 'DeleteWorkflowCompleted')).toMatchObject({
      status: 'False',
      reason: 'DeleteWorkflowFailed',
    });
    // Fixed and retried with the manual label, as documented: the Resource goes.
    await r.patch('good', {
      metadata: { labels: { 'kratix.io/manual-reconciliation': 'true' } },
      spec: { failDelete: 'no' },
    });
    await r.waitGone('good');
  });
});
