import * as k8s from '@kubernetes/client-node';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pinnedVersions } from '../../src/infra/binaries.js';
import { renderKubeconfig } from '../../src/infra/kubeconfig.js';
import { createTestNamespace, kubectl, testKubeConfig } from '../support/cluster.js';

describe('local control plane (etcd + kube-apiserver)', () => {
  const kc = testKubeConfig();

  it('serves kubectl with the written kubeconfig, at the pinned version', async () => {
    const ns = await kubectl(['get', 'namespaces', '-o', 'name']);
    expect(ns.code).toBe(0);
    expect(ns.stdout).toContain('namespace/default');
    const version = await kubectl(['version', '-o', 'json']);
    expect(version.code).toBe(0);
    expect(JSON.parse(version.stdout).serverVersion.gitVersion).toBe(pinnedVersions().KUBERNETES_VERSION);
  });

  it('establishes a CRD whose objects can be created, listed, watched and status-patched', async () => {
    const apiext = kc.makeApiClient(k8s.ApiextensionsV1Api);
    const co = kc.makeApiClient(k8s.CustomObjectsApi);
    const group = 'infra.test.kratix.io';
    const plural = 'widgets';
    await apiext.createCustomResourceDefinition({
      body: {
        metadata: { name: `${plural}.${group}` },
        spec: {
          group,
          scope: 'Namespaced',
          names: { plural, singular: 'widget', kind: 'Widget' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              subresources: { status: {} },
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: {
                    spec: { type: 'object', x_kubernetes_preserve_unknown_fields: true },
                    status: { type: 'object', x_kubernetes_preserve_unknown_fields: true },
                  },
                },
              },
            },
          ],
        },
      },
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const crd = await apiext.readCustomResourceDefinition({ name: `${plural}.${group}` });
      if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error('CRD never became Established');
      await new Promise((r) => setTimeout(r, 100));
    }

    const namespace = await createTestNamespace('crd');
    // Established can precede the moment the new storage serves requests ("storage is (re)initializing").
    for (let i = 0; ; i++) {
      try {
        await co.listNamespacedCustomObject({ group, version: 'v1', namespace, plural });
        break;
      } catch (err) {
        if (i > 100) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const seen: string[] = [];
    const watch = new k8s.Watch(kc);
    const watchReady = watch.watch(
      `/apis/${group}/v1/namespaces/${namespace}/${plural}`,
      {},
      (type, obj: { metadata: { name: string } }) => seen.push(`${type} ${obj.metadata.name}`),
      () => undefined,
    );
    const controller = await watchReady;
    try {
      await co.createNamespacedCustomObject({
        group,
        version: 'v1',
        namespace,
        plural,
        body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 1 } },
      });
      const list = (await co.listNamespacedCustomObject({ group, version: 'v1', namespace, plural })) as {
        items: { metadata: { name: string } }[];
      };
      expect(list.items.map((i) => i.metadata.name)).toEqual(['w1']);

      await co.patchNamespacedCustomObjectStatus(
        { group, version: 'v1', namespace, plural, name: 'w1', body: { status: { message: 'hello' } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      const got = (await co.getNamespacedCustomObject({
        group,
        version: 'v1',
        namespace,
        plural,
        name: 'w1',
      })) as {
        status: { message: string };
      };
      expect(got.status.message).toBe('hello');
      const until = Date.now() + 10_000;
      while (!(seen.includes('ADDED w1') && seen.includes('MODIFIED w1')) && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(seen).toEqual(expect.arrayContaining(['ADDED w1', 'MODIFIED w1']));
    } finally {
      controller.abort();
    }
  });

  it('issues TokenRequest tokens that authenticate with exactly the RBAC a Role grants', async () => {
    const namespace = await createTestNamespace('rbac');
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'reader' } } });
    await rbac.createNamespacedRole({
      namespace,
      body: {
        metadata: { name: 'configmap-reader' },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: 'reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmap-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace }],
      },
    });
    const as = `--as=system:serviceaccount:${namespace}:reader`;
    expect((await kubectl(['auth', 'can-i', 'list', 'configmaps', '-n', namespace, as])).stdout.trim()).toBe(
      'yes',
    );
    const denied = await kubectl(['auth', 'can-i', 'create', 'configmaps', '-n', namespace, as]);
    expect(denied.stdout.trim()).toBe('no');
    expect((await kubectl(['auth', 'can-i', 'list', 'secrets', '-n', namespace, as])).stdout.trim()).toBe(
      'no',
    );

    const tr = await core.createNamespacedServiceAccountToken({
      namespace,
      name: 'reader',
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const token = tr.status?.token;
    expect(token).toBeTruthy();
    const cluster = kc.getCurrentCluster()!;
    const tokenKubeconfig = path.join(process.env.KRATIX_TEST_DIR!, `reader-${namespace}.kubeconfig`);
    writeFileSync(
      tokenKubeconfig,
      renderKubeconfig(
        cluster.server,
        path.join(process.env.KRATIX_TEST_DIR!, 'control-plane', 'pki', 'ca.crt'),
        {
          name: 'reader',
          token,
        },
      ),
    );
    const whoami = await kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], {
      kubeconfig: tokenKubeconfig,
    });
    expect(whoami.stdout).toBe(`system:serviceaccount:${namespace}:reader`);
    expect(
      (await kubectl(['get', 'configmaps', '-n', namespace], { kubeconfig: tokenKubeconfig })).code,
    ).toBe(0);
    const forbidden = await kubectl(['get', 'secrets', '-n', namespace], { kubeconfig: tokenKubeconfig });
    expect(forbidden.code).not.toBe(0);
    expect(forbidden.stderr).toContain('forbidden');
  });
});
