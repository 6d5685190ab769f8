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
} from '../support/promises.js';

describe('events', () => {
  it('a Resource failing on every retry has one PipelineFailed Event whose count grows', async () => {
    const api = uniqueApi('repeat');
    await applyPromise(
      promiseFor(api, {
        workflows: {
          resource: {
            configure: [
              shPipeline('p', [
                '[ "$KRATIX_OBJECT_NAME" = ok ] && { echo "ok: yes" > /kratix/metadata/status.yaml; exit 0; }; echo "still broken" >&2; exit 5',
              ]),
            ],
          },
        },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('repeat');
    const rs = resources(api, ns);
    await rs.create('broken', {});
    await rs.create('ok', {});
    await rs.waitFor('broken', 'False', 'PipelineFailed');
    // Two more runs right away (the manual label) instead of waiting for the backoff timer.
    for (let i = 0; i < 2; i++) {
      const before = await failedCount();
      await rs.patch('broken', { metadata: { labels: { 'kratix.io/manual-reconciliation': 'true' } } });
      await waitUntil('another failure', async () => ((await failedCount()) > before ? true : undefined));
    }
    const failed = (await eventsFor(ns, 'broken')).filter((e) => e.reason === 'PipelineFailed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.type).toBe('Warning');
    expect(failed[0]!.count).toBeGreaterThanOrEqual(3);
    expect(failed[0]!.message).toContain('exited with code 5');
    expect(failed[0]!.message).toContain('still broken');
    expect(new Date(failed[0]!.lastTimestamp!).getTime()).toBeGreaterThanOrEqual(
      new Date(failed[0]!.firstTimestamp!).getTime(),
    );
    // Each distinct event is still its own: the other Resource shows its own, once each.
    expect((await rs.waitFor('ok', 'True')).status?.ok).toBe('yes');
    const ok = await eventsFor(ns, 'ok');
    expect(ok.filter((e) => e.reason === 'ConfigureWorkflowCompleted').map((e) => e.count)).toEqual([1]);

    async function failedCount(): Promise<number> {
      const e = (await eventsFor(ns, 'broken')).find((x) => x.reason === 'PipelineFailed');
      return e?.count ?? 0;
    }
  });
});
