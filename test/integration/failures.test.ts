import { createTestNamespace } from '../support/cluster.js';
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
import { readdirSync } from 'node:fs';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { testKubeConfig } from '../support/cluster.js';

describe('failures', () => {
  it('a container exiting non-zero fails the run with pipeline, container and exit code; later pipelines are skipped', async () => {
    const api = uniqueApi('failing');
    await applyPromise(
      promiseFor(api, {
        workflows: {
          resource: {
            configure: [
              shPipeline('first', {
                ok: 'echo "first: ran" > /kratix/metadata/status.yaml',
                boom: 'echo "disk full" >&2; exit 3',
              }),
              shPipeline('second', ['echo "second: ran" > /kratix/metadata/status.yaml']),
            ],
          },
        },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('fail');
    const rs = resources(api, ns);
    await rs.create('broken', {});
    const failed = await rs.waitFor('broken', 'False', 'PipelineFailed');
    const c = condition(failed, 'PipelineCompleted')!;
    expect(c.message).toBe('Pipeline "first" failed: container "boom" (2/2) exited with code 3');
    expect(failed.status?.second).toBeUndefined();
    expect(
      (failed.status?.kratix as { workflows: { pipelines: { name: string; phase: string }[] } }).workflows
        .pipelines,
    ).toEqual([
      expect.objectContaining({ name: 'first', phase: 'Failed' }),
      expect.objectContaining({ name: 'second', phase: 'Pending' }),
    ]);
    const warning = await waitUntil('Warning event', async () =>
      (await eventsFor(ns, 'broken')).find((e) => e.type === 'Warning' && e.reason === 'PipelineFailed'),
    );
    expect(warning.message).toContain('exited with code 3');
    expect(warning.message).toContain('disk full');
  });

  it('a failed run is retried with backoff and succeeds once the cause is fixed', async () => {
    const api = uniqueApi('flaky');
    const ns = await createTestNamespace('flaky');
    // Fails until ConfigMap "gate" exists in the resource's namespace (read through the pipeline's RBAC).
    await applyPromise(
      promiseFor(api, {
        workflows: {
          resource: {
            configure: [
              shPipeline(
                'gated',
                [
                  'kubectl get configmap gate -n "$KRATIX_OBJECT_NAMESPACE" >/dev/null 2>&1 || exit 7; echo "gated: open" > /kratix/metadata/status.yaml',
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
    await rs.create('r', {});
    await rs.waitFor('r', 'False', 'PipelineFailed');
    await testKubeConfig()
      .makeApiClient(k8s.CoreV1Api)
      .createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'gate' } } });
    const ok = await rs.waitFor('r', 'True', undefined, 90_000);
    expect(ok.status?.gated).toBe('open');
    // The failed runs' folders (kept for debugging) are pruned once a later run starts and succeeds
    // (the succeeded run's own folder goes as its last step, just after the status says so).
    const mine = () =>
      readdirSync(path.join(process.env.KRATIX_TEST_DIR!, 'runs', 'runs')).filter((d) =>
        d.startsWith(`resource_${api.promise}_${ns}_r_`),
      );
    await waitUntil('run folders removed', async () => (mine().length === 0 ? true : undefined), 10_000);
    expect(mine()).toEqual([]);
  });

  it('a malformed status.yaml and a non-Kubernetes output file fail the run naming the file', async () => {
    const api = uniqueApi('badout');
    await applyPromise(
      promiseFor(api, {
        workflows: {
          resource: {
            configure: [
              shPipeline('write', [
                `case "$KRATIX_OBJECT_NAME" in
  bad-status) printf 'message: [unclosed\\n' > /kratix/metadata/status.yaml ;;
  list-status) printf -- '- a\\n- b\\n' > /kratix/metadata/status.yaml ;;
  bad-output) printf 'hello: world\\n' > /kratix/output/notes.yaml ;;
esac`,
              ]),
            ],
          },
        },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('badout');
    const rs = resources(api, ns);
    await Promise.all(['bad-status', 'list-status', 'bad-output'].map((n) => rs.create(n, {})));
    const [badStatus, listStatus, badOutput] = await Promise.all(
      ['bad-status', 'list-status', 'bad-output'].map((n) => rs.waitFor(n, 'False', 'PipelineFailed')),
    );
    expect(condition(badStatus!, 'PipelineCompleted')!.message).toMatch(
      /^Pipeline "write" failed: \/kratix\/metadata\/status.yaml is not valid YAML/,
    );
    expect(condition(listStatus!, 'PipelineCompleted')!.message).toBe(
      'Pipeline "write" failed: /kratix/metadata/status.yaml must be a YAML map, got a list',
    );
    expect(condition(badOutput!, 'PipelineCompleted')!.message).toBe(
      'Pipeline "write" failed: output file notes.yaml: document 1 is not a Kubernetes object (needs apiVersion, kind and metadata.name)',
    );
  });

  it('refuses an invalid Promise with a condition and a Warning event, installing nothing', async () => {
    const api = uniqueApi('invalid');
    const bad = promiseFor(api, {
      workflows: {
        resource: {
          configure: [shPipeline('dup', ['true']), shPipeline('dup', ['true'])],
        },
      },
    });
    bad.spec!.workflows!.resource!.configure![0]!.spec.containers.push({ name: 'no-image' });
    await applyPromise(bad);
    const p = await waitUntil('Available=False', async () => {
      const got = await getPromise(api.promise);
      return condition(got, 'Available')?.status === 'False' ? got : undefined;
    });
    const c = condition(p, 'Available')!;
    expect(c.reason).toBe('InvalidPromise');
    expect(c.message).toContain('duplicate pipeline name "dup"');
    expect(c.message).toContain('container 1 (no-image): container has no image');
    const events = await waitUntil('event', async () => {
      const core = testKubeConfig().makeApiClient(k8s.CoreV1Api);
      const list = await core.listNamespacedEvent({
        namespace: 'default',
        fieldSelector: `involvedObject.name=${api.promise}`,
      });
      return list.items.find((e) => e.reason === 'InvalidPromise');
    });
    expect(events.type).toBe('Warning');
    const crds = testKubeConfig().makeApiClient(k8s.ApiextensionsV1Api);
    await expect(
      crds.readCustomResourceDefinition({ name: `${api.plural}.${api.group}` }),
    ).rejects.toMatchObject({ code: 404 });
  });
});
