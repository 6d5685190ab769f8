import * as k8s from '@kubernetes/client-node';
import { createTestNamespace, testKubeConfig } from '../support/cluster.js';
import {
  applyPromise,
  condition,
  eventsFor,
  getPromise,
  isGone,
  promiseFor,
  resources,
  shPipeline,
  uniqueApi,
  waitForPromiseAvailable,
  waitUntil,
} from '../support/promises.js';

const custom = () => testKubeConfig().makeApiClient(k8s.CustomObjectsApi);
const crds = () => testKubeConfig().makeApiClient(k8s.ApiextensionsV1Api);
const promises = { group: 'platform.kratix.io', version: 'v1alpha1', plural: 'promises' };

async function waitRefused(name: string) {
  return waitUntil(`Promise ${name} refused`, async () => {
    const p = await getPromise(name);
    return condition(p, 'Available')?.status === 'False' ? p : undefined;
  });
}

async function deletePromise(name: string) {
  await custom().deleteClusterCustomObject({ ...promises, name });
  await waitUntil(`Promise ${name} gone`, () =>
    isGone(() => custom().getClusterCustomObject({ ...promises, name })),
  );
}

const marker = (who: string) => shPipeline('mark', [`echo "owner: ${who}" > /kratix/metadata/status.yaml`]);

describe('a Promise API belongs to one Promise', () => {
  it('refuses a second Promise for the same CRD; deleting it leaves the CRD and the first Promise’s Resources', async () => {
    const api = uniqueApi('shared');
    const crdName = `${api.plural}.${api.group}`;
    await applyPromise(promiseFor(api, { workflows: { resource: { configure: [marker('first')] } } }));
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('shared');
    const rs = resources(api, ns);
    await rs.create('before', {});
    await rs.waitFor('before', 'True');

    const second = { ...api, promise: `${api.promise}-second` };
    await applyPromise(promiseFor(second, { workflows: { resource: { configure: [marker('second')] } } }));
    const refused = await waitRefused(second.promise);
    const c = condition(refused, 'Available')!;
    expect(c.reason).toBe('APIConflict');
    expect(c.message).toContain(`CustomResourceDefinition ${crdName} belongs to Promise "${api.promise}"`);
    const event = await waitUntil('APIConflict event', async () =>
      (await eventsFor('default', second.promise)).find((e) => e.reason === 'APIConflict'),
    );
    expect(event.type).toBe('Warning');
    expect(event.message).toContain(`Promise "${api.promise}"`);
    // The first Promise keeps its API and its pipelines.
    expect(condition(await getPromise(api.promise), 'Available')?.status).toBe('True');
    await rs.create('after', {});
    expect((await rs.waitFor('after', 'True')).status?.owner).toBe('first');

    await deletePromise(second.promise);
    const crd = await crds().readCustomResourceDefinition({ name: crdName });
    expect(crd.metadata?.labels?.['kratix.io/promise-name']).toBe(api.promise);
    expect(crd.metadata?.annotations?.['kratix.io/promise-uid']).toBe(
      (await getPromise(api.promise)).metadata.uid,
    );
    // Its Resources are still there and still reconciled by the first Promise.
    expect((await rs.get('before')).metadata.deletionTimestamp).toBeUndefined();
    await rs.patch('before', { spec: { size: 'large' } });
    expect((await rs.waitFor('before', 'True')).status?.owner).toBe('first');
  });

  it('refuses a Promise whose CRD was not installed by kratix-temporal, and its delete leaves the CRD', async () => {
    const api = uniqueApi('foreign');
    const crdName = `${api.plural}.${api.group}`;
    const body = promiseFor(api).spec!.api as k8s.V1CustomResourceDefinition;
    await crds().createCustomResourceDefinition({ body });
    await applyPromise(promiseFor(api, { workflows: { resource: { configure: [marker('p')] } } }));
    const refused = await waitRefused(api.promise);
    const c = condition(refused, 'Available')!;
    expect(c.reason).toBe('APIConflict');
    expect(c.message).toContain(
      `CustomResourceDefinition ${crdName} already exists and was not installed by a Promise`,
    );
    const event = await waitUntil('APIConflict event', async () =>
      (await eventsFor('default', api.promise)).find((e) => e.reason === 'APIConflict'),
    );
    expect(event.type).toBe('Warning');
    await deletePromise(api.promise);
    const crd = await crds().readCustomResourceDefinition({ name: crdName });
    expect(crd.metadata?.labels?.['kratix.io/promise-name']).toBeUndefined();
    await crds().deleteCustomResourceDefinition({ name: crdName });
  });
});
