import { MANUAL_RECONCILIATION_LABEL } from '../../src/core/constants.js';
import { shPipeline, waitUntil } from '../support/promises.js';
import { pipelinePods, resourceWith } from './support.js';

describe('kubernetes executor: retention', () => {
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
});
