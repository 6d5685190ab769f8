import * as k8s from '@kubernetes/client-node';
import { createTestNamespace, kubectl, testKubeConfig } from '../support/cluster.js';
import {
  applyPromise,
  promiseFor,
  resources,
  shPipeline,
  uniqueApi,
  waitForPromiseAvailable,
} from '../support/promises.js';

/** `resource` may name a subresource (`pods/log`); kubectl itself would read that as a name. */
const can = async (verb: string, resource: string, ns: string, sa: string) => {
  const [plural, sub] = resource.split('/');
  const args = ['auth', 'can-i', verb, plural!, ...(sub ? [`--subresource=${sub}`] : [])];
  return (await kubectl([...args, '-n', ns, `--as=system:serviceaccount:${sa}`])).stdout.trim();
};

describe('pipeline identity and RBAC', () => {
  it('creates the ServiceAccount and Role/ClusterRole bindings for the three permission cases', async () => {
    const api = uniqueApi('perm');
    const ns = await createTestNamespace('perm');
    const secretsNs = await createTestNamespace('vault');
    const core = testKubeConfig().makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedSecret({
      namespace: secretsNs,
      body: { metadata: { name: 'db' }, stringData: { password: 'x' } },
    });
    await applyPromise(
      promiseFor(api, {
        workflows: {
          resource: {
            configure: [
              shPipeline(
                'slack-notify',
                [
                  // kubectl inside the pipeline runs as the pipeline's ServiceAccount.
                  `ok() { if "$@" >/dev/null 2>&1; then echo yes; else echo no; fi; }
cat > /kratix/metadata/status.yaml <<EOF
whoami: $(kubectl auth whoami -o jsonpath='{.status.userInfo.username}')
ownSecrets: $(ok kubectl get secrets -n "$KRATIX_OBJECT_NAMESPACE")
vaultSecret: $(ok kubectl get secret db -n ${secretsNs})
jobsEverywhere: $(ok kubectl get jobs -A)
configmaps: $(ok kubectl get configmaps -n "$KRATIX_OBJECT_NAMESPACE")
EOF`,
                ],
                {
                  rbac: {
                    permissions: [
                      { apiGroups: [''], verbs: ['*'], resources: ['secrets'] },
                      {
                        apiGroups: [''],
                        verbs: ['get'],
                        resources: ['secrets'],
                        resourceNamespace: secretsNs,
                      },
                      {
                        apiGroups: ['batch'],
                        verbs: ['get', 'list'],
                        resources: ['jobs'],
                        resourceNamespace: '*',
                      },
                    ],
                  },
                },
              ),
            ],
          },
        },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const rs = resources(api, ns);
    await rs.create('team', {});
    const done = await rs.waitFor('team', 'True');
    const sa = `${api.promise}-resource-configure-slack-notify`;
    expect(done.status).toMatchObject({
      whoami: `system:serviceaccount:${ns}:${sa}`,
      ownSecrets: 'yes',
      vaultSecret: 'yes',
      jobsEverywhere: 'yes',
      configmaps: 'no',
    });

    // The objects themselves.
    const rbac = testKubeConfig().makeApiClient(k8s.RbacAuthorizationV1Api);
    await core.readNamespacedServiceAccount({ name: sa, namespace: ns });
    const role = await rbac.readNamespacedRole({ name: sa, namespace: ns });
    expect(role.rules).toContainEqual(
      expect.objectContaining({ apiGroups: [''], verbs: ['*'], resources: ['secrets'] }),
    );
    const vaultBindings = await rbac.listNamespacedRoleBinding({ namespace: secretsNs });
    expect(vaultBindings.items).toHaveLength(1);
    expect(vaultBindings.items[0]!.roleRef.kind).toBe('ClusterRole');
    expect(vaultBindings.items[0]!.subjects).toEqual([
      expect.objectContaining({ kind: 'ServiceAccount', name: sa, namespace: ns }),
    ]);
    const crbs = await rbac.listClusterRoleBinding({
      labelSelector: `kratix.io/promise-name=${api.promise},kratix.io/pipeline-name`,
    });
    expect(crbs.items.map((b) => b.roleRef.kind)).toEqual(['ClusterRole']);

    // And what they allow, as kubectl sees it.
    const who = `${ns}:${sa}`;
    expect(await can('delete', 'secrets', ns, who)).toBe('yes');
    expect(await can('get', 'secrets', secretsNs, who)).toBe('yes');
    expect(await can('delete', 'secrets', secretsNs, who)).toBe('no');
    expect(await can('list', 'jobs', 'kube-system', who)).toBe('yes');
    expect(await can('create', 'jobs', 'kube-system', who)).toBe('no');
    expect(await can('get', 'configmaps', ns, who)).toBe('no');
    expect(await can('get', `${api.plural}.${api.group}`, ns, who)).toBe('yes');
  });

  it('uses a custom ServiceAccount, leaving a pre-existing one exactly as it was', async () => {
    const api = uniqueApi('custom');
    const ns = await createTestNamespace('custom');
    const core = testKubeConfig().makeApiClient(k8s.CoreV1Api);
    const before = await core.createNamespacedServiceAccount({
      namespace: ns,
      body: {
        metadata: {
          name: 'my-pipeline-sa',
          labels: { owner: 'platform-team' },
          annotations: { note: 'hands off' },
        },
      },
    });
    await applyPromise(
      promiseFor(api, {
        workflows: {
          resource: {
            configure: [
              shPipeline(
                'run',
                [
                  `echo "whoami: $(kubectl auth whoami -o jsonpath='{.status.userInfo.username}')" > /kratix/metadata/status.yaml`,
                ],
                {
                  rbac: { serviceAccount: 'my-pipeline-sa' },
                },
              ),
            ],
          },
        },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const rs = resources(api, ns);
    await rs.create('r', {});
    const done = await rs.waitFor('r', 'True');
    expect(done.status?.whoami).toBe(`system:serviceaccount:${ns}:my-pipeline-sa`);
    const after = await core.readNamespacedServiceAccount({ name: 'my-pipeline-sa', namespace: ns });
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    expect(after.metadata?.labels).toEqual({ owner: 'platform-team' });
  });

  it('runs the controller and worker with deploy/rbac: Resource access only for installed Promises', async () => {
    // The test system itself runs as this ServiceAccount (see test/support/global-setup-impl.ts).
    const controller = 'kratix-platform-system:kratix-temporal';
    const ns = await createTestNamespace('ctl');
    const api = uniqueApi('ctl');
    const resource = `${api.plural}.${api.group}`;
    expect(await can('list', resource, ns, controller)).toBe('no');
    await applyPromise(promiseFor(api, { workflows: { resource: { configure: [] } } }));
    await waitForPromiseAvailable(api.promise);
    for (const verb of ['list', 'watch', 'patch', 'delete'])
      expect(await can(verb, resource, ns, controller)).toBe('yes');
    expect(await can('patch', `${resource}/status`, ns, controller)).toBe('yes');
    // Never a wildcard: other APIs and reading every Secret stay out of reach.
    expect(await can('list', 'secrets', ns, controller)).toBe('no');
    expect(await can('list', 'deployments.apps', ns, controller)).toBe('no');
    expect(await can('get', 'secrets', ns, controller)).toBe('yes');
    // kubernetes executor: pipeline Pods and their run Secrets, but no exec into any Pod.
    expect(await can('create', 'pods', ns, controller)).toBe('yes');
    expect(await can('get', 'pods/log', ns, controller)).toBe('yes');
    expect(await can('create', 'pods/exec', ns, controller)).toBe('no');
    expect(await can('update', 'secrets', ns, controller)).toBe('no');
    expect(await can('delete', 'secrets', ns, controller)).toBe('no');
  });
});
