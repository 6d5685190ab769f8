import { execFileSync } from 'node:child_process';
import * as k8s from '@kubernetes/client-node';
import { MANUAL_RECONCILIATION_LABEL } from '../../src/core/constants.js';
import { createTestNamespace, kubectl, testKubeConfig } from '../support/cluster.js';
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
import { checkout, createDestination, createGitStateStore, filesUnder } from '../support/state-store.js';
import { createBareRepo } from '../support/git-server.js';
import { mkdtempSync } from 'node:fs';
import path from 'node:path';

const processes = () => execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
const core = () => testKubeConfig().makeApiClient(k8s.CoreV1Api);
const gone = isGone;

/** A store + Destination only this test's Promise selects. */
async function privateDestination(label: string) {
  const root = mkdtempSync(path.join(process.env.KRATIX_TEST_DIR!, 'del-'));
  const bare = createBareRepo(root, 'state.git');
  await createGitStateStore(`store-${label}`, { url: `file://${bare}` });
  await createDestination(`dest-${label}`, { del: label }, `store-${label}`);
  return bare;
}

const writeFile = shPipeline('render', [
  `printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: %s\\n' "$KRATIX_OBJECT_NAME" > /kratix/output/cm.yaml`,
]);

describe('delete workflows', () => {
  it('runs the delete pipeline as its ServiceAccount with the object and status, removes files, then the object', async () => {
    const api = uniqueApi('deleted');
    const bare = await privateDestination(api.promise);
    const ns = await createTestNamespace('del');
    const deletePipeline = shPipeline(
      'cleanup',
      [
        // A side effect through the pipeline's own RBAC: a ConfigMap recording what it saw.
        `kubectl create configmap "deleted-$KRATIX_OBJECT_NAME" -n "$KRATIX_OBJECT_NAMESPACE" \\
  --from-literal=action="$KRATIX_WORKFLOW_ACTION" \\
  --from-literal=sawStatus="$(grep -c 'PipelineExecutedSuccessfully' /kratix/input/object.yaml)" \\
  --from-literal=metadataDir="$(test -d /kratix/metadata && echo yes || echo no)"`,
      ],
      { rbac: { permissions: [{ apiGroups: [''], verbs: ['create'], resources: ['configmaps'] }] } },
    );
    await applyPromise(
      promiseFor(api, {
        destinationSelectors: [{ matchLabels: { del: api.promise } }],
        workflows: { resource: { configure: [writeFile], delete: [deletePipeline] } },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const rs = resources(api, ns);
    await rs.create('db', {});
    await rs.waitFor('db', 'True');
    const dir = `dest-${api.promise}/resources/${ns}/${api.promise}/db/render`;
    expect(filesUnder(checkout(bare), dir)).toEqual(['cm.yaml']);

    const del = await kubectl([
      'delete',
      `${api.plural}.${api.group}`,
      'db',
      '-n',
      ns,
      '--wait=true',
      '--timeout=120s',
    ]);
    expect(del.code).toBe(0);
    expect(await gone(() => rs.get('db'))).toBe(true);
    const cm = await core().readNamespacedConfigMap({ name: 'deleted-db', namespace: ns });
    expect(cm.data).toEqual({ action: 'delete', sawStatus: '1', metadataDir: 'no' });
    expect(filesUnder(checkout(bare), `dest-${api.promise}/resources/${ns}/${api.promise}/db`)).toEqual([]);
  });

  it('cancels a long configure run within seconds when the resource is deleted', async () => {
    const api = uniqueApi('longrun');
    const ns = await createTestNamespace('longrun');
    await applyPromise(
      promiseFor(api, {
        workflows: {
          resource: {
            configure: [
              shPipeline('forever', ['echo started > /kratix/output/../metadata/marker; exec sleep 600']),
            ],
            delete: [shPipeline('cleanup', ['true'])],
          },
        },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const rs = resources(api, ns);
    await rs.create('slow', {});
    await waitUntil('configure running', async () => {
      const o = await rs.get('slow');
      return (
        (o.status?.kratix as { workflows?: { pipelines?: { phase: string }[] } })?.workflows?.pipelines?.[0]
          ?.phase === 'Running'
      );
    });
    await waitUntil('sleep 600 running', async () => /sleep 600/.test(processes()));
    const t0 = Date.now();
    await rs.delete('slow');
    await rs.waitGone('slow', 60_000);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(processes()).not.toMatch(/sleep 600/);
  });

  it('keeps the object when the delete pipeline fails; the manual label retries it after a fix', async () => {
    const api = uniqueApi('faildel');
    const ns = await createTestNamespace('faildel');
    // Fails until ConfigMap "allow-delete" exists.
    await applyPromise(
      promiseFor(api, {
        workflows: {
          resource: {
            configure: [shPipeline('noop', ['true'])],
            delete: [
              shPipeline(
                'guarded',
                [
                  'kubectl get configmap allow-delete -n "$KRATIX_OBJECT_NAMESPACE" >/dev/null 2>&1 || exit 4',
                ],
                {
                  rbac: { permissions: [{ apiGroups: [''], verbs: ['get'], resources: ['configmaps'] }] },
                },
              ),
            ],
          },
        },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const rs = resources(api, ns);
    await rs.create('keep', {});
    await rs.waitFor('keep', 'True');
    await rs.delete('keep');
    const blocked = await waitUntil('DeletePipelineCompleted=False', async () => {
      const o = await rs.get('keep');
      return condition(o, 'DeletePipelineCompleted')?.status === 'False' ? o : undefined;
    });
    expect(condition(blocked, 'DeletePipelineCompleted')).toMatchObject({
      reason: 'DeletePipelineFailed',
      message: 'Pipeline "guarded" failed: container "step-0" (1/1) exited with code 4',
    });
    expect(blocked.metadata.finalizers).toContain('kratix.io/delete-workflows');
    await waitUntil('Warning event', async () =>
      (await eventsFor(ns, 'keep')).some((e) => e.type === 'Warning' && e.reason === 'DeletePipelineFailed'),
    );
    await waitUntil('status says how to retry', async () =>
      String((await rs.get('keep')).status?.message).includes(MANUAL_RECONCILIATION_LABEL),
    );

    await core().createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'allow-delete' } } });
    await rs.patch('keep', { metadata: { labels: { [MANUAL_RECONCILIATION_LABEL]: 'true' } } });
    await rs.waitGone('keep');
  });

  it('gives a resource deleted and re-created with the same name a fresh lifecycle', async () => {
    const api = uniqueApi('again');
    const ns = await createTestNamespace('again');
    const counter = shPipeline('count', [
      `runs=$(sed -n 's/^  runs: \\([0-9]*\\)$/\\1/p' /kratix/input/object.yaml); echo "runs: $(( \${runs:-0} + 1 ))" > /kratix/metadata/status.yaml`,
    ]);
    await applyPromise(promiseFor(api, { workflows: { resource: { configure: [counter] } } }));
    await waitForPromiseAvailable(api.promise);
    const rs = resources(api, ns);
    const first = await rs.create('same', {});
    await rs.waitFor('same', 'True');
    await rs.delete('same');
    await rs.waitGone('same');
    const second = await rs.create('same', {});
    const done = await rs.waitFor('same', 'True');
    expect(second.metadata.uid).not.toBe(first.metadata.uid);
    expect(done.status?.runs).toBe(1);
  });
});

describe('promise workflows', () => {
  it('runs promise configure pipelines, writes dependencies to every matching Destination, then resources run', async () => {
    const api = uniqueApi('platform');
    const rootA = await privateDestination(`${api.promise}-a`);
    const label = `${api.promise}-b`;
    const rootB = mkdtempSync(path.join(process.env.KRATIX_TEST_DIR!, 'del-'));
    const bareB = createBareRepo(rootB, 'state.git');
    await createGitStateStore(`store-${label}`, { url: `file://${bareB}` });
    // Both Destinations carry the label the Promise selects.
    await createDestination(`dest-${label}`, { del: `${api.promise}-a`, extra: 'b' }, `store-${label}`);
    const promise = promiseFor(api, {
      destinationSelectors: [{ matchLabels: { del: `${api.promise}-a` } }],
      dependencies: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'operator-system' } }],
      workflows: {
        promise: {
          configure: [
            shPipeline('operator', [
              `printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: operator\\n' > /kratix/output/operator.yaml
echo "message: operator installed by $KRATIX_WORKFLOW_TYPE pipeline in $(kubectl config view --minify -o jsonpath='{..namespace}')" > /kratix/metadata/status.yaml`,
            ]),
          ],
        },
        resource: { configure: [shPipeline('r', ['echo "seen: yes" > /kratix/metadata/status.yaml'])] },
      },
    });
    await applyPromise(promise);
    await waitForPromiseAvailable(api.promise);
    // A Destination that turns Ready after the first run started re-runs the Promise
    // ("destination-added"): wait for the run in flight to finish too.
    const p = await waitUntil('Promise configure run completed', async () => {
      const current = await getPromise(api.promise);
      return condition(current, 'PipelineCompleted')?.status === 'True' ? current : undefined;
    });
    expect(condition(p, 'Available')?.status).toBe('True');
    expect(p.status?.message).toBe('operator installed by promise pipeline in kratix-platform-system');
    expect(condition(p, 'PipelineCompleted')?.status).toBe('True');
    for (const [bare, dest] of [
      [rootA, `dest-${api.promise}-a`],
      [bareB, `dest-${label}`],
    ] as const) {
      const co = checkout(bare);
      expect(filesUnder(co, `${dest}/dependencies/${api.promise}`)).toEqual([
        'operator/operator.yaml',
        'static/dependencies.yaml',
      ]);
    }
    const ns = await createTestNamespace('platform');
    await resources(api, ns).create('r', {});
    expect((await resources(api, ns).waitFor('r', 'True')).status?.seen).toBe('yes');
  });

  it('holds a resource created before its Promise is configured, then runs it', async () => {
    const api = uniqueApi('early');
    await applyPromise(
      promiseFor(api, {
        workflows: {
          promise: { configure: [shPipeline('slow-setup', ['sleep 5'])] },
          resource: { configure: [shPipeline('r', ['echo "ran: yes" > /kratix/metadata/status.yaml'])] },
        },
      }),
    );
    const crds = testKubeConfig().makeApiClient(k8s.ApiextensionsV1Api);
    await waitUntil(
      'CRD installed',
      async () =>
        !(await isGone(() => crds.readCustomResourceDefinition({ name: `${api.plural}.${api.group}` }))),
    );
    const ns = await createTestNamespace('early');
    const rs = resources(api, ns);
    await waitUntil('resource accepted', async () => !!(await rs.create('r', {}).catch(() => undefined)));
    expect(condition(await getPromise(api.promise), 'Available')?.status).not.toBe('True');
    const done = await rs.waitFor('r', 'True');
    const available = condition(await getPromise(api.promise), 'Available')!;
    expect(available.status).toBe('True');
    expect(condition(done, 'PipelineCompleted')!.lastTransitionTime! >= available.lastTransitionTime!).toBe(
      true,
    );
    expect(done.status?.ran).toBe('yes');
  });

  it('re-runs promise and resource pipelines when the Promise changes', async () => {
    const api = uniqueApi('upd');
    const pipeline = (v: string) => shPipeline('v', [`echo "version: ${v}" > /kratix/metadata/status.yaml`]);
    await applyPromise(
      promiseFor(api, {
        workflows: { promise: { configure: [pipeline('one')] }, resource: { configure: [pipeline('one')] } },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('upd');
    const rs = resources(api, ns);
    await Promise.all(['a', 'b', 'c'].map((n) => rs.create(n, {})));
    for (const n of ['a', 'b', 'c']) expect((await rs.waitFor(n, 'True')).status?.version).toBe('one');

    const co = testKubeConfig().makeApiClient(k8s.CustomObjectsApi);
    await co.patchClusterCustomObject(
      {
        group: 'platform.kratix.io',
        version: 'v1alpha1',
        plural: 'promises',
        name: api.promise,
        body: {
          spec: {
            workflows: {
              promise: { configure: [pipeline('two')] },
              resource: { configure: [pipeline('two')] },
            },
          },
        },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await waitUntil('promise re-ran', async () => (await getPromise(api.promise)).status?.version === 'two');
    for (const n of ['a', 'b', 'c'])
      await waitUntil(`${n} re-ran`, async () => (await rs.get(n)).status?.version === 'two');
  });

  it('deletes a Promise: resources (delete pipelines run), CRD, created RBAC and dependencies go; a pre-existing SA stays', async () => {
    const api = uniqueApi('bye');
    const bare = await privateDestination(api.promise);
    const ns = await createTestNamespace('bye');
    const before = await core().createNamespacedServiceAccount({
      namespace: ns,
      body: { metadata: { name: 'mine' } },
    });
    await applyPromise(
      promiseFor(api, {
        destinationSelectors: [{ matchLabels: { del: api.promise } }],
        dependencies: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'dep' } }],
        workflows: {
          resource: {
            configure: [
              shPipeline('with-perms', ['true'], {
                rbac: {
                  permissions: [
                    { apiGroups: [''], verbs: ['get'], resources: ['secrets'], resourceNamespace: '*' },
                  ],
                },
              }),
              shPipeline('custom', ['true'], { rbac: { serviceAccount: 'mine' } }),
            ],
            delete: [
              shPipeline(
                'cleanup',
                [`kubectl create configmap "bye-$KRATIX_OBJECT_NAME" -n "$KRATIX_OBJECT_NAMESPACE"`],
                {
                  rbac: { permissions: [{ apiGroups: [''], verbs: ['create'], resources: ['configmaps'] }] },
                },
              ),
            ],
          },
        },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const rs = resources(api, ns);
    await rs.create('x', {});
    await rs.waitFor('x', 'True');
    expect(filesUnder(checkout(bare), `dest-${api.promise}/dependencies/${api.promise}`)).toEqual([
      'static/dependencies.yaml',
    ]);

    const del = await kubectl(['delete', 'promise', api.promise, '--wait=true', '--timeout=120s']);
    expect(del.code).toBe(0);
    expect(await gone(() => getPromise(api.promise))).toBe(true);
    await core().readNamespacedConfigMap({ name: 'bye-x', namespace: ns }); // the delete pipeline ran
    const crds = testKubeConfig().makeApiClient(k8s.ApiextensionsV1Api);
    expect(await gone(() => crds.readCustomResourceDefinition({ name: `${api.plural}.${api.group}` }))).toBe(
      true,
    );
    const rbac = testKubeConfig().makeApiClient(k8s.RbacAuthorizationV1Api);
    const selector = { labelSelector: `kratix.io/promise-name=${api.promise}` };
    expect((await rbac.listClusterRole(selector)).items).toEqual([]);
    expect((await rbac.listClusterRoleBinding(selector)).items).toEqual([]);
    expect((await rbac.listRoleForAllNamespaces(selector)).items).toEqual([]);
    expect((await core().listServiceAccountForAllNamespaces(selector)).items).toEqual([]);
    const after = await core().readNamespacedServiceAccount({ name: 'mine', namespace: ns });
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    expect(filesUnder(checkout(bare), `dest-${api.promise}/dependencies/${api.promise}`)).toEqual([]);
  });
});
