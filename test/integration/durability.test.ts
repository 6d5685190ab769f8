import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { createTestNamespace, testKubeConfig } from '../support/cluster.js';
import { privateDestination } from '../support/state-store.js';
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

describe('durability: a worker killed right after a container exits', () => {
  it('completes every Resource without re-running the finished container, each output file committed once', async () => {
    const api = uniqueApi('justdone');
    const ns = await createTestNamespace('justdone');
    const bare = await privateDestination(api.promise);
    await applyPromise(
      promiseFor(api, {
        destinationSelectors: [{ matchLabels: { dest: api.promise } }],
        workflows: {
          resource: {
            configure: [
              shPipeline(
                'two-steps',
                {
                  // Leaves one ConfigMap per execution and the output file, then exits.
                  first: `kubectl create configmap "ran-$KRATIX_OBJECT_NAME-$(date +%s%N)" -n "$KRATIX_OBJECT_NAMESPACE" >/dev/null
printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: %s\\n' "$KRATIX_OBJECT_NAME" > /kratix/output/cm.yaml`,
                  // Its marker says the first container has exited and its progress was recorded.
                  second: `kubectl create configmap "second-$KRATIX_OBJECT_NAME-$(date +%s%N)" -n "$KRATIX_OBJECT_NAMESPACE" >/dev/null
sleep 4; echo "second: done" > /kratix/metadata/status.yaml`,
                },
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
            ],
          },
        },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const rs = resources(api, ns);
    const names = ['a', 'b', 'c'];
    for (const n of names) await rs.create(n, {});
    const core = testKubeConfig().makeApiClient(k8s.CoreV1Api);
    const count = async (prefix: string) =>
      (await core.listNamespacedConfigMap({ namespace: ns })).items.filter((c) =>
        c.metadata?.name?.startsWith(prefix),
      ).length;
    const ran = (n: string) => count(`ran-${n}-`);
    // The moment the first container of one Resource has finished (the next one started): kill the
    // worker. (Its ConfigMap alone is too early: on a loaded machine the container may still run.)
    await waitUntil('a first container finished', async () => (await count('second-a-')) >= 1, 60_000);
    const pid = Number(readFileSync(process.env.KRATIX_TEST_WORKER_PID_FILE!, 'utf8'));
    process.kill(pid, 'SIGKILL');

    for (const n of names)
      expect((await rs.waitFor(n, 'True', undefined, 120_000)).status?.second).toBe('done');
    for (const n of names) expect(await ran(n)).toBe(1);
    for (const n of names) {
      const file = `dest-${api.promise}/resources/${ns}/${api.promise}/${n}/two-steps/cm.yaml`;
      const commits = execFileSync('git', ['-C', bare, 'log', '--format=%H', 'main', '--', file], {
        encoding: 'utf8',
      })
        .split('\n')
        .filter(Boolean);
      expect(commits).toHaveLength(1);
    }
  });
});
