import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { createTestNamespace, testKubeConfig } from '../support/cluster.js';
import {
  applyPromise,
  promiseFor,
  resources,
  shPipeline,
  uniqueApi,
  waitForPromiseAvailable,
  waitUntil,
} from '../support/promises.js';

interface Phase {
  name: string;
  phase: string;
}
const phases = (o: { status?: Record<string, unknown> }) =>
  ((o.status?.kratix as { workflows?: { pipelines?: Phase[] } } | undefined)?.workflows?.pipelines ??
    []) as Phase[];

describe('durability', () => {
  it('finishes a run after the worker is killed mid-pipeline, without re-running finished pipelines', async () => {
    const api = uniqueApi('durable');
    const ns = await createTestNamespace('durable');
    await applyPromise(
      promiseFor(api, {
        workflows: {
          resource: {
            configure: [
              // Leaves one ConfigMap per execution: the count shows how often it really ran.
              shPipeline(
                'first',
                [
                  `kubectl create configmap "first-$(date +%s%N)" -n "$KRATIX_OBJECT_NAMESPACE" && kubectl label configmap -n "$KRATIX_OBJECT_NAMESPACE" -l '!x' ran=first --overwrite >/dev/null`,
                ],
                {
                  rbac: {
                    permissions: [
                      {
                        apiGroups: [''],
                        verbs: ['create', 'list', 'get', 'patch'],
                        resources: ['configmaps'],
                      },
                    ],
                  },
                },
              ),
              shPipeline('slow', ['sleep 6; echo "slow: done" > /kratix/metadata/status.yaml']),
            ],
          },
        },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const rs = resources(api, ns);
    await rs.create('r', {});
    await waitUntil(
      'pipeline "slow" running',
      async () => phases(await rs.get('r')).find((p) => p.name === 'slow')?.phase === 'Running',
    );

    const pid = Number(readFileSync(process.env.KRATIX_TEST_WORKER_PID_FILE!, 'utf8'));
    process.kill(pid, 'SIGKILL'); // the supervisor starts a new worker, as a Deployment would

    const done = await rs.waitFor('r', 'True', undefined, 120_000);
    expect(done.status?.slow).toBe('done');
    expect(phases(done).map((p) => p.phase)).toEqual(['Succeeded', 'Succeeded']);
    const cms = await testKubeConfig()
      .makeApiClient(k8s.CoreV1Api)
      .listNamespacedConfigMap({ namespace: ns, labelSelector: 'ran=first' });
    expect(cms.items).toHaveLength(1);
    expect(Number(readFileSync(process.env.KRATIX_TEST_WORKER_PID_FILE!, 'utf8'))).not.toBe(pid);
  });
});
