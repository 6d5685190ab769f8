import { MANUAL_RECONCILIATION_LABEL } from '../../src/core/constants.js';
import { shPipeline, waitUntil } from '../support/promises.js';
import { pipelinePods, resourceWith } from './support.js';

describe('kubernetes executor: Pod options and retention', () => {
  it('keeps the newest finished Pods per pipeline (numberOfJobsToKeep) and removes older ones', async () => {
    const { api, ns, rs } = await resourceWith('keep', [
      shPipeline('tick', ['echo "runs: $(date +%s%N)" > /kratix/metadata/status.yaml']),
    ]);
    let last = await rs.waitFor('r', 'True');
    const seen = new Set<string>();
    for (const p of await pipelinePods(ns, api.promise)) seen.add(p.metadata!.name!);
    for (let i = 0; i < 3; i++) {
      const before = last.status?.runs;
      await rs.patch('r', { metadata: { labels: { [MANUAL_RECONCILIATION_LABEL]: 'true' } } });
      last = await waitUntil(`run ${i + 2}`, async () => {
        const o = await rs.get('r');
        return o.status?.runs !== before && o.metadata.labels?.[MANUAL_RECONCILIATION_LABEL] === undefined
          ? o
          : undefined;
      });
      for (const p of await pipelinePods(ns, api.promise)) seen.add(p.metadata!.name!);
    }
    expect(seen.size).toBe(4); // one Pod per run
    // The node environment keeps 2 (numberOfJobsToKeep: 2 in the kratix ConfigMap).
    const kept = await waitUntil(
      'old Pods removed',
      async () => {
        const pods = await pipelinePods(ns, api.promise);
        return pods.length === 2 ? pods : undefined;
      },
      30_000,
    );
    expect(kept.every((p) => p.status?.phase === 'Succeeded')).toBe(true);
  });

  it('honours resources, nodeSelector, tolerations, restartPolicy and jobOptions.backoffLimit', async () => {
    // Fails the first time (it leaves a marker), succeeds the second: one replacement Pod.
    const flaky = shPipeline(
      'flaky',
      [
        `if kubectl get configmap "tried-$KRATIX_OBJECT_NAME" -n "$KRATIX_OBJECT_NAMESPACE" >/dev/null 2>&1; then
  echo "attempts: 2" > /kratix/metadata/status.yaml
else
  kubectl create configmap "tried-$KRATIX_OBJECT_NAME" -n "$KRATIX_OBJECT_NAMESPACE" >/dev/null; exit 1
fi`,
      ],
      {
        rbac: { permissions: [{ apiGroups: [''], verbs: ['get', 'create'], resources: ['configmaps'] }] },
      },
    );
    Object.assign(flaky.spec, {
      restartPolicy: 'Never',
      jobOptions: { backoffLimit: 1 },
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      tolerations: [{ key: 'example.com/dedicated', operator: 'Exists', effect: 'NoSchedule' }],
    });
    flaky.spec.containers[0]!.resources = {
      requests: { cpu: '10m', memory: '16Mi' },
      limits: { memory: '64Mi' },
    };
    const { api, ns, rs } = await resourceWith('opts', [flaky]);
    const done = await rs.waitFor('r', 'True');
    expect(done.status?.attempts).toBe(2);
    const pods = await pipelinePods(ns, api.promise);
    expect(pods.map((p) => p.status?.phase)).toEqual(['Failed', 'Succeeded']);
    expect(pods[1]!.metadata!.name).toBe(`${pods[0]!.metadata!.name}-r1`);
    const spec = pods[1]!.spec!;
    expect(spec.restartPolicy).toBe('Never');
    expect(spec.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(spec.tolerations).toEqual(
      expect.arrayContaining([{ key: 'example.com/dedicated', operator: 'Exists', effect: 'NoSchedule' }]),
    );
    expect(spec.initContainers!.find((c) => c.name === 'step-0')!.resources).toEqual({
      requests: { cpu: '10m', memory: '16Mi' },
      limits: { memory: '64Mi' },
    });
  });
});
