import * as k8s from '@kubernetes/client-node';
import { createTestNamespace, testKubeConfig } from '../support/cluster.js';
import {
  applyPromise,
  condition,
  getPromise,
  promiseFor,
  resources,
  shPipeline,
  uniqueApi,
  waitForPromiseAvailable,
  waitUntil,
  type TestApi,
} from '../support/promises.js';
import { testTemporalClient } from '../support/temporal.js';
import { stateQuery, type LifecycleState } from '../../workflows/definitions.js';
import { promiseWorkflowId, resourceWorkflowId } from '../../src/core/names.js';

const custom = () => testKubeConfig().makeApiClient(k8s.CustomObjectsApi);

/** Writes `version: <v>`; the Resource named "bad" always fails. */
const versioned = (api: TestApi, v: string) =>
  promiseFor(api, {
    workflows: {
      resource: {
        configure: [
          shPipeline('p', [
            `[ "$KRATIX_OBJECT_NAME" != bad ] || { echo "bad stays bad" >&2; exit 4; }; echo "version: ${v}" > /kratix/metadata/status.yaml`,
          ]),
        ],
      },
    },
  });

async function updatePromise(api: TestApi, v: string) {
  const spec = versioned(api, v).spec;
  await custom().patchClusterCustomObject(
    {
      group: 'platform.kratix.io',
      version: 'v1alpha1',
      plural: 'promises',
      name: api.promise,
      body: { spec },
    },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
}

describe('Promise update', () => {
  it('finishes with a Resource that failed before and still fails; the next update is taken', async () => {
    const api = uniqueApi('upd');
    await applyPromise(versioned(api, 'v1'));
    const { uid } = (await waitForPromiseAvailable(api.promise)).metadata;
    const ns = await createTestNamespace('upd');
    const rs = resources(api, ns);
    await rs.create('good', {});
    const bad = await rs.create('bad', {});
    expect((await rs.waitFor('good', 'True')).status?.version).toBe('v1');
    await rs.waitFor('bad', 'False', 'PipelineFailed');

    const { client, close } = await testTemporalClient();
    const promiseState = () =>
      client.workflow.getHandle(promiseWorkflowId(api.promise, uid!)).query(stateQuery);
    /** The Promise lifecycle finished the run for `generation` (re-runs included) and is idle again. */
    const updateFinished = (generation: number) =>
      waitUntil(`Promise update to generation ${generation} finished`, async () => {
        const s: LifecycleState = await promiseState();
        const last = s.lastRuns.at(-1);
        return s.phase === 'idle' && last?.generation === generation ? last : undefined;
      });
    try {
      await updatePromise(api, 'v2');
      await waitUntil('good at v2', async () =>
        (await rs.get('good')).status?.version === 'v2' ? true : undefined,
      );
      const run = await updateFinished(2);
      expect(run.outcome).toBe('succeeded');
      const p = await getPromise(api.promise);
      expect(condition(p, 'Available')?.status).toBe('True');
      expect(p.status?.observedGeneration).toBe(2);
      // The failing Resource ran for the update, and shows its failure.
      const badState = await client.workflow
        .getHandle(
          resourceWorkflowId({ promise: api.promise, namespace: ns, name: 'bad', uid: bad.metadata.uid! }),
        )
        .query(stateQuery);
      expect(badState.lastRuns).toEqual(
        expect.arrayContaining([expect.objectContaining({ reason: 'promise-updated', outcome: 'failed' })]),
      );
      const c = condition(await rs.get('bad'), 'PipelineCompleted')!;
      expect(c).toMatchObject({ status: 'False', reason: 'PipelineFailed' });
      expect(c.message).toContain('exited with code 4');

      // The lifecycle is free for the next spec.
      await updatePromise(api, 'v3');
      await waitUntil('good at v3', async () =>
        (await rs.get('good')).status?.version === 'v3' ? true : undefined,
      );
      expect((await updateFinished(3)).outcome).toBe('succeeded');
    } finally {
      await close();
    }
  });
});
