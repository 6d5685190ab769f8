// Admission of new objects' first runs (src/controller/admission.ts), on an environment of this
// file's own: its controller admits one new object at a time, which the shared one must not.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { Condition, KubeObject } from '../../src/core/types.js';
import { startControlPlane, type ControlPlane } from '../../src/infra/control-plane.js';
import { startTemporalServer, type TemporalServer } from '../../src/infra/temporal-server.js';
import { Kube } from '../../src/kube/client.js';
import { ensureDefaultStateStore } from '../../src/statestore/default-store.js';
import { startSystem, type RunningSystem } from '../../src/system.js';
import { plainTemporalConnection } from '../../src/temporal/connection.js';
import { promiseFor, shPipeline, type TestApi } from '../support/sample-promise.js';
import { waitUntil } from '../support/promises.js';

const api: TestApi = {
  promise: 'admitted',
  group: 'admission.test.kratix.io',
  version: 'v1',
  kind: 'Admitted',
  plural: 'admitteds',
};
const coords = { group: api.group, version: api.version, plural: api.plural, namespace: 'default' };
// Reports when it ran (milliseconds) and takes a moment, so overlapping runs would show.
const timed = shPipeline('timed', [
  `began=$(date +%s%3N)
sleep 1
echo "began: $began" > /kratix/metadata/status.yaml
echo "ended: $(date +%s%3N)" >> /kratix/metadata/status.yaml`,
]);

describe('admission of new objects', () => {
  const dir = mkdtempSync(path.join(process.env.KRATIX_TEST_DIR ?? tmpdir(), 'admission-'));
  let cp: ControlPlane;
  let temporal: TemporalServer;
  let system: RunningSystem | undefined;
  let co: k8s.CustomObjectsApi;

  const get = (name: string) => co.getNamespacedCustomObject({ ...coords, name }) as Promise<KubeObject>;
  const completed = (name: string, generation = 1) =>
    waitUntil(
      `${name} generation ${generation} PipelineCompleted=True`,
      async () => {
        const o = await get(name);
        const c = (o.status?.conditions as Condition[] | undefined)?.find(
          (x) => x.type === 'PipelineCompleted',
        );
        return c?.status === 'True' && o.status?.observedGeneration === generation ? o : undefined;
      },
      120_000,
    );

  beforeAll(async () => {
    cp = await startControlPlane({ dir: path.join(dir, 'cp') });
    temporal = await startTemporalServer({ dir: path.join(dir, 'temporal') });
    system = await startSystem({
      kubeconfig: cp.kubeconfigPath,
      temporal: plainTemporalConnection(temporal.address),
      workDir: path.join(dir, 'runs'),
      executor: 'local',
      leaderElection: false,
      admission: { limit: 1, holdMs: 60_000 },
    });
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    co = kc.makeApiClient(k8s.CustomObjectsApi);
    await ensureDefaultStateStore(Kube.fromFile(cp.kubeconfigPath), dir);
    await co.createClusterCustomObject({
      group: 'platform.kratix.io',
      version: 'v1alpha1',
      plural: 'promises',
      body: promiseFor(api, { workflows: { resource: { configure: [timed] } } }),
    });
    await waitUntil('the Promise API', () => co.listNamespacedCustomObject(coords).then(() => true));
  });

  afterAll(async () => {
    await system?.stop();
    await temporal?.stop();
    await cp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts new objects created at once one after another, each when the one before completed; all complete', async () => {
    const names = ['n1', 'n2', 'n3', 'n4'];
    await Promise.all(
      names.map((name) =>
        co.createNamespacedCustomObject({
          ...coords,
          body: {
            apiVersion: `${api.group}/${api.version}`,
            kind: api.kind,
            metadata: { name },
            spec: { v: 1 },
          },
        }),
      ),
    );
    const runs = (await Promise.all(names.map((n) => completed(n))))
      .map((o) => ({ began: Number(o.status?.began), ended: Number(o.status?.ended) }))
      .sort((a, b) => a.began - b.began);
    for (const r of runs) expect(r.ended).toBeGreaterThan(r.began);
    // One slot: no run began before the one admitted before it had ended.
    for (let i = 1; i < runs.length; i++) expect(runs[i]!.began).toBeGreaterThanOrEqual(runs[i - 1]!.ended);
  });

  it('never holds back changes to objects that already completed', async () => {
    const names = ['n1', 'n2', 'n3', 'n4'];
    const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
    await Promise.all(
      names.map((name) =>
        co.patchNamespacedCustomObject({ ...coords, name, body: { spec: { v: 2 } } }, merge),
      ),
    );
    const runs = (await Promise.all(names.map((n) => completed(n, 2)))).map((o) => ({
      began: Number(o.status?.began),
      ended: Number(o.status?.ended),
    }));
    // Not admitted one by one: the runs overlap (each takes over a second).
    const firstEnd = Math.min(...runs.map((r) => r.ended));
    expect(runs.filter((r) => r.began < firstEnd).length).toBeGreaterThan(1);
  });
});
