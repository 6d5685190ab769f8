// spec.requiredPromises, as upstream Kratix: a Promise waits with RequirementsFulfilled=False (and
// Available=False) naming the missing Promise and version, its Resources wait with it, and once the
// required Promise is installed at that version and Available it goes on by itself (watch-driven).
import * as k8s from '@kubernetes/client-node';
import type { KratixPromise } from '../../src/core/types.js';
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
} from '../support/promises.js';

const promiseApi = { group: 'platform.kratix.io', version: 'v1alpha1', plural: 'promises' };
const custom = () => testKubeConfig().makeApiClient(k8s.CustomObjectsApi);
function patchPromise(name: string, body: unknown): Promise<KratixPromise> {
  return custom().patchClusterCustomObject(
    { ...promiseApi, name, body },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  ) as Promise<KratixPromise>;
}

async function promiseEvents(name: string): Promise<k8s.CoreV1Event[]> {
  const core = testKubeConfig().makeApiClient(k8s.CoreV1Api);
  const list = await core.listEventForAllNamespaces({
    fieldSelector: `involvedObject.kind=Promise,involvedObject.name=${name}`,
  });
  return list.items;
}

describe('requiredPromises', () => {
  it('a Promise and its Resources wait for a required Promise at a version, then proceed by themselves', async () => {
    const db = uniqueApi('database');
    const app = uniqueApi('webapp');
    const configured = shPipeline('configure', [
      'echo "message: app configured" > /kratix/metadata/status.yaml',
    ]);
    const appPromise = promiseFor(app, {
      // Upstream's shape: name and version of each required Promise.
      requiredPromises: [{ name: db.promise, version: 'v1.0.0' }],
      workflows: {
        promise: { configure: [configured] },
        resource: {
          configure: [shPipeline('instance', ['echo "ready: true" > /kratix/metadata/status.yaml'])],
        },
      },
    } as KratixPromise['spec'] & Record<string, unknown>);
    appPromise.metadata.labels = { 'kratix.io/promise-version': 'v0.1.0' };
    await applyPromise(appPromise);

    const missing = `Requirements not fulfilled: Promise "${db.promise}" at version v1.0.0 is not installed`;
    const waiting = await waitUntil('RequirementsFulfilled=False', async () => {
      const p = await getPromise(app.promise);
      return condition(p, 'RequirementsFulfilled')?.status === 'False' ? p : undefined;
    });
    expect(condition(waiting, 'RequirementsFulfilled')).toMatchObject({
      reason: 'RequirementsNotInstalled',
      message: missing,
    });
    expect(condition(waiting, 'Available')).toMatchObject({ status: 'False', message: missing });
    expect(waiting.status?.requiredPromises).toEqual([
      { name: db.promise, version: 'v1.0.0', state: 'Requirement not installed' },
    ]);
    await waitUntil('RequirementsNotFulfilled event', async () =>
      (await promiseEvents(app.promise)).some(
        (e) => e.reason === 'RequirementsNotFulfilled' && e.type === 'Warning' && e.message === missing,
      ),
    );
    // The API is installed (users may request), but nothing runs yet.
    const ns = await createTestNamespace('requires');
    const rs = resources(app, ns);
    await waitUntil('the API accepts requests', async () => {
      await rs.create('site', {});
      return true;
    });

    // The required Promise at another version: still waiting, and the message says which is there.
    const dbPromise = promiseFor(db);
    dbPromise.metadata.labels = { 'kratix.io/promise-version': 'v0.9.0' };
    await applyPromise(dbPromise);
    await waitForPromiseAvailable(db.promise);
    await waitUntil('message names the installed version', async () => {
      const p = await getPromise(app.promise);
      return condition(p, 'RequirementsFulfilled')?.message ===
        `Requirements not fulfilled: Promise "${db.promise}" at version v1.0.0 is not installed (installed at version v0.9.0)`
        ? p
        : undefined;
    });
    expect(condition(await rs.get('site'), 'PipelineCompleted')).toBeUndefined();

    // At the version asked for: the Promise goes on with no further action, then its Resource.
    await patchPromise(db.promise, { metadata: { labels: { 'kratix.io/promise-version': 'v1.0.0' } } });
    const available = await waitForPromiseAvailable(app.promise);
    expect(condition(available, 'RequirementsFulfilled')).toMatchObject({
      status: 'True',
      reason: 'RequirementsInstalled',
    });
    expect(available.status?.requiredPromises).toEqual([
      { name: db.promise, version: 'v1.0.0', state: 'Requirement installed' },
    ]);
    expect(available.status?.message).toBe('app configured');
    const site = await rs.waitFor('site', 'True');
    expect(site.status?.ready).toBe(true);
    expect((await promiseEvents(app.promise)).some((e) => e.reason === 'RequirementsFulfilled')).toBe(true);

    // A requirement lost later (the required Promise moves to another version): the Promise says so.
    await patchPromise(db.promise, { metadata: { labels: { 'kratix.io/promise-version': 'v2.0.0' } } });
    const lost = await waitUntil('requirement lost', async () => {
      const p = await getPromise(app.promise);
      return condition(p, 'RequirementsFulfilled')?.status === 'False' ? p : undefined;
    });
    expect(condition(lost, 'Available')).toMatchObject({
      status: 'False',
      message: `Requirements not fulfilled: Promise "${db.promise}" at version v1.0.0 is not installed (installed at version v2.0.0)`,
    });
  });

  it('a Promise whose required Promise is not Available waits, naming it; other Promises keep working', async () => {
    const broken = uniqueApi('brokendep');
    const dependent = uniqueApi('dependent');
    // Required Promise that never becomes Available (its promise pipeline fails).
    await applyPromise(
      promiseFor(broken, { workflows: { promise: { configure: [shPipeline('fail', ['exit 3'])] } } }),
    );
    await applyPromise(
      promiseFor(dependent, { requiredPromises: [{ name: broken.promise }] } as KratixPromise['spec'] &
        Record<string, unknown>),
    );
    const p = await waitUntil('not Available named', async () => {
      const x = await getPromise(dependent.promise);
      return condition(x, 'RequirementsFulfilled')?.reason === 'RequirementsNotAvailable' ? x : undefined;
    });
    expect(condition(p, 'RequirementsFulfilled')?.message).toBe(
      `Requirements not fulfilled: Promise "${broken.promise}" is not Available`,
    );
    const other = uniqueApi('independent');
    await applyPromise(promiseFor(other));
    await waitForPromiseAvailable(other.promise);
  });
});
