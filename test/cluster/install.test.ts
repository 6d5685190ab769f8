// kratix-temporal installed on the real node the way a user installs it: the image (`npm run
// image`) imported into the node, `kubectl apply -k deploy/overlays/test` with the Temporal address
// patched in, controller and worker as Deployments, pipelines as Pods whose helper containers run
// the same image. Environment: test/support/cluster-setup-impl.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { APP_IMAGE } from '../../src/infra/app-image.js';
import { PACKAGE_ROOT } from '../../src/package-root.js';
import { createTestNamespace, kubectl, testKubeConfig } from '../support/cluster.js';
import {
  applyPromise,
  getPromise,
  isGone,
  promiseFor,
  resources,
  shPipeline,
  uniqueApi,
  waitForPromiseAvailable,
  waitUntil,
} from '../support/promises.js';

const NS = 'kratix-platform-system';
const dir = process.env.KRATIX_TEST_DIR!;
const core = () => testKubeConfig().makeApiClient(k8s.CoreV1Api);
const apps = () => testKubeConfig().makeApiClient(k8s.AppsV1Api);
const custom = () => testKubeConfig().makeApiClient(k8s.CustomObjectsApi);

const componentPods = async (component: string) =>
  (
    await core().listNamespacedPod({
      namespace: NS,
      labelSelector: `app.kubernetes.io/name=kratix-temporal,app.kubernetes.io/component=${component}`,
    })
  ).items.filter((p) => !p.metadata?.deletionTimestamp);

const pipelinePods = async (namespace: string, promise: string) =>
  (await core().listNamespacedPod({ namespace, labelSelector: `kratix.io/promise-name=${promise}` })).items;

/** Waits until a Deployment has `replicas` ready Pods of its current template. */
const deploymentReady = (name: string, replicas: number, timeoutMs = 180_000) =>
  waitUntil(
    `Deployment ${name} with ${replicas} ready replicas`,
    async () => {
      const d = await apps().readNamespacedDeployment({ name, namespace: NS });
      const s = d.status;
      return (
        s?.observedGeneration === d.metadata?.generation &&
        s?.readyReplicas === replicas &&
        s?.updatedReplicas === replicas &&
        (s?.replicas ?? 0) === replicas
      );
    },
    timeoutMs,
  );

/** On a failure, the installed components' logs are what explains it. */
async function withLogs<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const logs = await kubectl([
      'logs',
      '-n',
      NS,
      '-l',
      'app.kubernetes.io/name=kratix-temporal',
      '--prefix',
      '--tail=40',
      '--all-containers',
    ]);
    const pods = await kubectl(['get', 'pods', '-A', '-o', 'wide']);
    throw new Error(
      `${(err as Error).message}\n--- pods ---\n${pods.stdout}\n--- logs ---\n${logs.stdout}${logs.stderr}`,
    );
  }
}

describe('install on a cluster: kubectl apply -k deploy/overlays/test', () => {
  test('controller and worker Deployments come up and the controller elects a leader', () =>
    withLogs(async () => {
      // What a user's overlay does: point the connection ConfigMap at their Temporal server.
      const kdir = path.join(dir, 'install');
      mkdirSync(kdir, { recursive: true });
      writeFileSync(
        path.join(kdir, 'kustomization.yaml'),
        [
          'apiVersion: kustomize.config.k8s.io/v1beta1',
          'kind: Kustomization',
          'resources:',
          `  - ${path.relative(kdir, path.join(PACKAGE_ROOT, 'deploy/overlays/test'))}`,
          'patches:',
          '  - target: { kind: ConfigMap, name: kratix-temporal-connection }',
          '    patch: |',
          '      - op: replace',
          '        path: /data/TEMPORAL_ADDRESS',
          `        value: "${process.env.KRATIX_TEST_TEMPORAL_ADDRESS}"`,
          '',
        ].join('\n'),
      );
      const applied = await kubectl(['apply', '-k', kdir]);
      if (applied.code !== 0) throw new Error(`kubectl apply -k failed: ${applied.stderr}`);
      await Promise.all([
        deploymentReady('kratix-temporal-controller', 2),
        deploymentReady('kratix-temporal-worker', 1),
      ]);
      const controllers = (await componentPods('controller')).map((p) => p.metadata!.name!);
      const lease = await waitUntil('the controller Lease held by a controller Pod', async () => {
        const l = await testKubeConfig()
          .makeApiClient(k8s.CoordinationV1Api)
          .readNamespacedLease({ name: 'kratix-temporal-controller', namespace: NS });
        const holder = l.spec?.holderIdentity ?? '';
        return controllers.some((c) => holder.startsWith(`${c}-`)) ? holder : undefined;
      });
      expect(lease).toBeTruthy();
      for (const p of [...(await componentPods('controller')), ...(await componentPods('worker'))]) {
        expect(p.spec!.containers[0]!.image).toBe(APP_IMAGE);
        expect(p.spec!.securityContext!.runAsNonRoot).toBe(true);
      }
    }));

  const api = uniqueApi('inst');
  let ns = '';

  test('a Promise and a Resource complete with their pipelines as Pods, helpers from the same image', () =>
    withLogs(async () => {
      ns = await createTestNamespace('cluster');
      await applyPromise(
        promiseFor(api, {
          workflows: {
            promise: {
              configure: [
                shPipeline('promise-setup', ['echo "promiseStep: done" > /kratix/metadata/status.yaml']),
              ],
            },
            resource: {
              configure: [
                shPipeline('configure', [
                  'if [ -n "$(grep "sleep: true" /kratix/input/object.yaml)" ]; then sleep 10; fi; ' +
                    'echo "ranIn: $KRATIX_OBJECT_NAME" > /kratix/metadata/status.yaml',
                ]),
              ],
            },
          },
        }),
      );
      const promise = await waitForPromiseAvailable(api.promise);
      expect(promise.status?.promiseStep).toBe('done');
      const rs = resources(api, ns);
      await rs.create('first', {});
      const done = await rs.waitFor('first', 'True', undefined, 180_000);
      expect(done.status?.ranIn).toBe('first');
      const [pod, ...more] = await pipelinePods(ns, api.promise);
      expect(more).toEqual([]);
      expect(pod!.status?.phase).toBe('Succeeded');
      const helpers = [...(pod!.spec!.initContainers ?? []), ...pod!.spec!.containers].filter((c) =>
        c.name.startsWith('kratix-'),
      );
      expect(helpers.map((c) => c.image)).toEqual([APP_IMAGE, APP_IMAGE]);
      // the promise pipeline ran as a Pod too, in the platform namespace
      expect((await pipelinePods(NS, api.promise)).length).toBe(1);
    }));

  test('a worker Pod replaced during a run: the run completes without a second pipeline Pod', () =>
    withLogs(async () => {
      const rs = resources(api, ns);
      await rs.create('slow', { sleep: true });
      const running = await waitUntil(
        "the slow pipeline's container running",
        async () => {
          const pods = (await pipelinePods(ns, api.promise)).filter(
            (p) => p.metadata?.labels?.['kratix.io/resource-name'] === 'slow',
          );
          const step = pods[0]?.status?.initContainerStatuses?.find((c) => c.name === 'step-0');
          return step?.state?.running ? pods[0] : undefined;
        },
        120_000,
      );
      const [worker] = await componentPods('worker');
      await core().deleteNamespacedPod({ name: worker!.metadata!.name!, namespace: NS });
      await waitUntil('a new worker Pod', async () =>
        (await componentPods('worker')).some((p) => p.metadata!.name !== worker!.metadata!.name),
      );
      await deploymentReady('kratix-temporal-worker', 1);
      const done = await rs.waitFor('slow', 'True', undefined, 180_000);
      expect(done.status?.ranIn).toBe('slow');
      const slowPods = (await pipelinePods(ns, api.promise)).filter(
        (p) => p.metadata?.labels?.['kratix.io/resource-name'] === 'slow',
      );
      expect(slowPods.map((p) => p.metadata!.name)).toEqual([running.metadata!.name]);
    }));

  test('deleting the Resources and the Promise', () =>
    withLogs(async () => {
      const rs = resources(api, ns);
      await rs.delete('first');
      await rs.delete('slow');
      await rs.waitGone('first');
      await rs.waitGone('slow');
      await custom().deleteClusterCustomObject({
        group: 'platform.kratix.io',
        version: 'v1alpha1',
        plural: 'promises',
        name: api.promise,
      });
      await waitUntil('Promise gone', () => isGone(() => getPromise(api.promise)), 120_000);
    }));
});
