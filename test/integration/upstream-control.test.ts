// A pipeline's /kratix/metadata/workflow-control.yaml, as upstream Kratix documents it (SDK
// WriteSuspend / WriteRetryAfter): suspend stops the workflow until the manual-reconciliation label
// or a spec change; retryAfter re-runs the pipeline after a durable timer, counting attempts; bad
// content fails the pipeline with a clear message and an Event.
import { MANUAL_RECONCILIATION_LABEL } from '../../src/core/constants.js';
import type { Condition, KubeObject } from '../../src/core/types.js';
import { fileURLToPath } from 'node:url';
import { createTestNamespace, kubectl } from '../support/cluster.js';
import {
  applyPromise,
  condition,
  eventsFor,
  promiseFor,
  resources,
  shPipeline,
  uniqueApi,
  waitForPromiseAvailable,
  waitUntil,
} from '../support/promises.js';

interface PipelineStatus {
  name: string;
  phase: string;
  message?: string;
  attempts?: number;
  nextRetryAt?: string;
}
const pipelinesOf = (o: KubeObject) =>
  ((o.status?.kratix as { workflows?: { pipelines?: PipelineStatus[] } } | undefined)?.workflows?.pipelines ??
    []) as PipelineStatus[];
const suspendedGeneration = (o: KubeObject) =>
  (o.status?.kratix as { workflows?: { suspendedGeneration?: number } } | undefined)?.workflows
    ?.suspendedGeneration;

// Upstream's system-test shape: the pipeline writes the file with a heredoc.
const approval = shPipeline('approval', [
  `if grep -Eq 'approved: "?yes' /kratix/input/object.yaml; then
  echo "approval: granted" > /kratix/metadata/status.yaml
else
  cat <<'EOF2' > /kratix/metadata/workflow-control.yaml
suspend: true
message: waiting for approval
EOF2
fi`,
]);
const after = shPipeline('after', ['echo "after: done" > /kratix/metadata/status.yaml']);

describe('workflow-control.yaml', () => {
  it('suspend: the pipeline phase is Suspended with its message and the run waits until the manual label, then restarts from the first pipeline; a spec change also restarts it', async () => {
    const api = uniqueApi('gated');
    await applyPromise(promiseFor(api, { workflows: { resource: { configure: [approval, after] } } }));
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('gated');
    const rs = resources(api, ns);
    await rs.create('r', { size: 's' });

    const suspended = await rs.waitFor('r', 'False', 'WorkflowSuspended');
    expect(pipelinesOf(suspended)).toEqual([
      expect.objectContaining({ name: 'approval', phase: 'Suspended', message: 'waiting for approval' }),
      expect.objectContaining({ name: 'after', phase: 'Pending' }),
    ]);
    expect(condition(suspended, 'PipelineCompleted')?.message).toBe(
      'Pipeline "approval" suspended: waiting for approval; waiting for the kratix.io/manual-reconciliation label or a spec change',
    );
    expect(condition(suspended, 'Reconciled')).toMatchObject({
      status: 'Unknown',
      reason: 'WorkflowSuspended',
    });
    expect(suspendedGeneration(suspended)).toBe(1);
    const events = await eventsFor(ns, 'r');
    expect(events.find((e) => e.reason === 'WorkflowSuspended')).toMatchObject({
      type: 'Warning',
      message: expect.stringContaining('waiting for approval'),
    });

    // It stays suspended: nothing re-runs by itself.
    await new Promise((r) => setTimeout(r, 3000));
    const still = await rs.get('r');
    expect(pipelinesOf(still)[1]!.phase).toBe('Pending');
    expect(still.status?.after).toBeUndefined();

    // A spec change restarts the workflow (it suspends again, at the new generation).
    await rs.patch('r', { spec: { size: 'm' } });
    await waitUntil('suspended at generation 2', async () => suspendedGeneration(await rs.get('r')) === 2);

    // Approve, then the manual label: the run restarts from the first pipeline and completes.
    await rs.patch('r', {
      metadata: { annotations: { approved: 'yes' }, labels: { [MANUAL_RECONCILIATION_LABEL]: 'true' } },
    });
    const done = await rs.waitFor('r', 'True');
    expect(done.status).toMatchObject({ approval: 'granted', after: 'done' });
    expect(pipelinesOf(done).map((p) => p.phase)).toEqual(['Succeeded', 'Succeeded']);
    expect(suspendedGeneration(done)).toBeUndefined();
    expect(done.metadata.labels?.[MANUAL_RECONCILIATION_LABEL]).toBeUndefined();
    expect((condition(done, 'Reconciled') as Condition | undefined)?.reason).not.toBe('WorkflowSuspended');
    await rs.delete('r');
    await rs.waitGone('r');
  });

  it('retryAfter: the pipeline re-runs after the delay, attempts counted in status and Events, then the workflow goes on', async () => {
    const api = uniqueApi('retrying');
    const flaky = shPipeline('flaky', [
      `if grep -q 'attempts: 2' /kratix/input/object.yaml; then
  echo "ready: true" > /kratix/metadata/status.yaml
else
  cat <<'EOF2' > /kratix/metadata/workflow-control.yaml
retryAfter: 2s
message: database not ready yet
EOF2
fi`,
    ]);
    await applyPromise(promiseFor(api, { workflows: { resource: { configure: [flaky, after] } } }));
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('retrying');
    const rs = resources(api, ns);
    await rs.create('r', {});

    const first = await waitUntil('Suspended with a retry', async () => {
      const o = await rs.get('r');
      const p = pipelinesOf(o)[0];
      return p?.phase === 'Suspended' && p.attempts === 1 ? p : undefined;
    });
    expect(first).toMatchObject({ message: 'database not ready yet', nextRetryAt: expect.any(String) });
    const done = await rs.waitFor('r', 'True');
    expect(done.status).toMatchObject({ ready: true, after: 'done' });
    const retries = (await eventsFor(ns, 'r'))
      .filter((e) => e.reason === 'WorkflowSuspended')
      .map((e) => e.message)
      .sort();
    expect(retries).toEqual([
      'Pipeline "flaky" suspended: database not ready yet; will re-run after 2s (attempt 1)',
      'Pipeline "flaky" suspended: database not ready yet; will re-run after 2s (attempt 2)',
    ]);
    await rs.delete('r');
    await rs.waitGone('r');
  });

  it('bad content fails the pipeline naming the field, with an Event; other Resources keep working', async () => {
    const api = uniqueApi('badcontrol');
    const bad = shPipeline('bad', [
      `if grep -q 'mode: bad' /kratix/input/object.yaml; then
  echo 'retryAfter: "whale"' > /kratix/metadata/workflow-control.yaml
fi`,
    ]);
    await applyPromise(promiseFor(api, { workflows: { resource: { configure: [bad] } } }));
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('badcontrol');
    const rs = resources(api, ns);
    await rs.create('broken', { mode: 'bad' });
    await rs.create('fine', { mode: 'good' });
    const failed = await rs.waitFor('broken', 'False', 'PipelineFailed');
    expect(condition(failed, 'PipelineCompleted')?.message).toBe(
      'Pipeline "bad" failed: /kratix/metadata/workflow-control.yaml: retryAfter "whale" is not a positive duration (e.g. 30s, 5m, 1h30m)',
    );
    await waitUntil('PipelineFailed event', async () =>
      (await eventsFor(ns, 'broken')).some(
        (e) => e.reason === 'PipelineFailed' && e.message?.includes('retryAfter "whale"'),
      ),
    );
    await rs.waitFor('fine', 'True');
  });

  it('examples/approval, driven with kubectl: suspended until annotated and labelled, then a retry, then provisioned', async () => {
    const example = (f: string) => fileURLToPath(new URL(`../../examples/approval/${f}`, import.meta.url));
    expect((await kubectl(['apply', '-f', example('promise.yaml')])).code).toBe(0);
    expect(
      (await kubectl(['wait', 'promise/database', '--for=condition=Available', '--timeout=60s'])).code,
    ).toBe(0);
    expect((await kubectl(['apply', '-f', example('resource.yaml')])).code).toBe(0);
    // (kubectl wait --for=jsonpath fails at once while the field does not exist yet: poll.)
    await waitUntil('Suspended, as kubectl shows it', async () => {
      const phase = await kubectl([
        'get',
        'database',
        'orders',
        '-o',
        'jsonpath={.status.kratix.workflows.pipelines[0].phase}',
      ]);
      return phase.stdout === 'Suspended';
    });
    const message = await kubectl([
      'get',
      'database',
      'orders',
      '-o',
      'jsonpath={.status.kratix.workflows.pipelines[0].message}',
    ]);
    expect(message.stdout).toBe('waiting for approval (annotate example.kratix.io/approved=yes)');
    expect((await kubectl(['annotate', 'database', 'orders', 'example.kratix.io/approved=yes'])).code).toBe(
      0,
    );
    expect(
      (await kubectl(['label', 'database', 'orders', 'kratix.io/manual-reconciliation=true'])).code,
    ).toBe(0);
    const done = await kubectl([
      'wait',
      'database/orders',
      '--for=condition=PipelineCompleted',
      '--timeout=120s',
    ]);
    expect(done.stdout).toContain('condition met');
    expect((await kubectl(['get', 'databases'])).stdout).toMatch(/orders\s+Database provisioned/);
    const events = await kubectl([
      'get',
      'events',
      '--field-selector',
      'involvedObject.name=orders,reason=WorkflowSuspended',
      '-o',
      'jsonpath={.items[*].message}',
    ]);
    expect(events.stdout).toContain('will re-run after 5s (attempt 1)');
    expect((await kubectl(['delete', '-f', example('resource.yaml')])).code).toBe(0);
    expect((await kubectl(['delete', '-f', example('promise.yaml')])).code).toBe(0);
  });
});
