import * as k8s from '@kubernetes/client-node';
import { stringify, parse } from 'yaml';
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
import { stateQuery } from '../../workflows/definitions.js';
import { resourceWorkflowId } from '../../src/core/names.js';

const core = () => testKubeConfig().makeApiClient(k8s.CoreV1Api);
const rbac = () => testKubeConfig().makeApiClient(k8s.RbacAuthorizationV1Api);
const CM = { name: 'kratix', namespace: 'kratix-platform-system' };

/** Sets `pipelinePermissions` in the kratix ConfigMap; returns a function that restores it. */
async function withPolicy(policy: Record<string, unknown>): Promise<() => Promise<void>> {
  const existing = await core()
    .readNamespacedConfigMap(CM)
    .catch(() => undefined);
  const config = (existing?.data?.config ? parse(existing.data.config) : {}) as Record<string, unknown>;
  const data = { ...(existing?.data ?? {}), config: stringify({ ...config, pipelinePermissions: policy }) };
  if (existing) await core().replaceNamespacedConfigMap({ ...CM, body: { ...existing, data } });
  else
    await core().createNamespacedConfigMap({
      namespace: CM.namespace,
      body: { metadata: { name: CM.name }, data },
    });
  // readPlatformConfig caches the ConfigMap for 5 s.
  await new Promise((r) => setTimeout(r, 5_500));
  return async () => {
    const now = await core().readNamespacedConfigMap(CM);
    if (existing) await core().replaceNamespacedConfigMap({ ...CM, body: { ...now, data: existing.data } });
    else await core().deleteNamespacedConfigMap(CM);
  };
}

async function waitRefused(name: string) {
  return waitUntil(`Promise ${name} refused`, async () => {
    const p = await getPromise(name);
    return condition(p, 'Available')?.status === 'False' ? p : undefined;
  });
}

const eventOf = (name: string, reason: string, namespace = 'default') =>
  waitUntil(`${reason} event on ${name}`, async () =>
    (await eventsFor(namespace, name)).find((e) => e.reason === reason),
  );

describe('pipeline permissions', () => {
  it('a pipelinePermissions policy refuses a Promise asking beyond it; others keep working', async () => {
    // Only the core group and batch: every other test asks for core-group permissions.
    const restore = await withPolicy({ allowedApiGroups: ['', 'batch'] });
    try {
      const greedy = uniqueApi('greedy');
      await applyPromise(
        promiseFor(greedy, {
          workflows: {
            resource: {
              configure: [
                shPipeline('deploy', ['true'], {
                  rbac: { permissions: [{ apiGroups: ['apps'], verbs: ['*'], resources: ['deployments'] }] },
                }),
              ],
            },
          },
        }),
      );
      const refused = await waitRefused(greedy.promise);
      const c = condition(refused, 'Available')!;
      expect(c.reason).toBe('PermissionsNotAllowed');
      expect(c.message).toBe(
        'Promise refused: spec.workflows.resource.configure[0] (deploy) rbac.permissions[0]: API group(s) "apps" not allowed ' +
          '(by pipelinePermissions in ConfigMap kratix-platform-system/kratix)',
      );
      const event = await eventOf(greedy.promise, 'PermissionsNotAllowed');
      expect(event.type).toBe('Warning');
      // Nothing was granted.
      const roles = await rbac().listRoleForAllNamespaces({
        labelSelector: `kratix.io/promise-name=${greedy.promise}`,
      });
      expect(roles.items).toEqual([]);

      const modest = uniqueApi('modest');
      await applyPromise(
        promiseFor(modest, {
          workflows: {
            resource: {
              configure: [
                shPipeline('read', ['echo "read: ok" > /kratix/metadata/status.yaml'], {
                  rbac: { permissions: [{ apiGroups: [''], verbs: ['get'], resources: ['configmaps'] }] },
                }),
              ],
            },
          },
        }),
      );
      await waitForPromiseAvailable(modest.promise);
      const ns = await createTestNamespace('modest');
      await resources(modest, ns).create('r', {});
      expect((await resources(modest, ns).waitFor('r', 'True')).status?.read).toBe('ok');
    } finally {
      await restore();
    }
  });

  it('permissions the API server would reject (empty verbs) refuse the Promise up front', async () => {
    const api = uniqueApi('noverbs');
    await applyPromise(
      promiseFor(api, {
        workflows: {
          resource: {
            configure: [
              shPipeline('p', ['true'], {
                rbac: { permissions: [{ apiGroups: [''], verbs: [], resources: ['configmaps'] }] },
              }),
            ],
          },
        },
      }),
    );
    const refused = await waitRefused(api.promise);
    const c = condition(refused, 'Available')!;
    expect(c.reason).toBe('InvalidPromise');
    expect(c.message).toBe(
      'Invalid Promise: spec.workflows.resource.configure[0] (p) rbac.permissions[0]: verbs must list at least one verb',
    );
    expect((await eventOf(api.promise, 'InvalidPromise')).type).toBe('Warning');
  });

  it('an identity the API server rejects (422) fails the run once, with a condition and an event', async () => {
    const api = uniqueApi('badsa');
    await applyPromise(
      promiseFor(api, {
        workflows: {
          resource: {
            configure: [shPipeline('p', ['true'], { rbac: { serviceAccount: 'Not_A_Valid_Name' } })],
          },
        },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('badsa');
    const rs = resources(api, ns);
    const created = await rs.create('r', {});
    const failed = await rs.waitFor('r', 'False', 'PipelineFailed');
    expect(condition(failed, 'PipelineCompleted')!.message).toMatch(
      /^Pipeline "p" failed: the API server rejected its ServiceAccount or RBAC: .*Not_A_Valid_Name/,
    );
    expect((await eventOf('r', 'PipelineFailed', ns)).type).toBe('Warning');
    // The run failed (no activity retrying forever): the lifecycle waits on its backoff timer.
    const { client, close } = await testTemporalClient();
    try {
      const id = resourceWorkflowId({
        promise: api.promise,
        namespace: ns,
        name: 'r',
        uid: created.metadata.uid!,
      });
      const state = await waitUntil('waiting-retry', async () => {
        const s = await client.workflow.getHandle(id).query(stateQuery);
        return s.phase === 'waiting-retry' ? s : undefined;
      });
      expect(state.lastRuns.at(-1)?.outcome).toBe('failed');
    } finally {
      await close();
    }
  });
});
