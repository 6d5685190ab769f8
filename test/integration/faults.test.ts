// Faults of the infrastructure, on an environment of this file's own (restarting the shared one
// would disturb every other test): kube-apiserver and Temporal restarts mid-run, then a restart of
// everything from persisted state. Loopback only, bounded by timeouts.
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
  promise: 'faulty',
  group: 'faults.test.kratix.io',
  version: 'v1',
  kind: 'Faulty',
  plural: 'faulties',
};
const coords = { group: api.group, version: api.version, plural: api.plural, namespace: 'default' };
// Counts its executions in status (runs) and takes a few seconds, so faults land mid-run.
const slowCounter = shPipeline('count', [
  `runs=$(sed -n 's/^  runs: \\([0-9]*\\)$/\\1/p' /kratix/input/object.yaml)
sleep 3
echo "runs: $(( \${runs:-0} + 1 ))" > /kratix/metadata/status.yaml`,
]);

describe('faults: infrastructure restarts', () => {
  const dir = mkdtempSync(path.join(process.env.KRATIX_TEST_DIR ?? tmpdir(), 'faults-'));
  let cp: ControlPlane;
  let temporal: TemporalServer;
  let system: RunningSystem | undefined;
  let co: k8s.CustomObjectsApi;

  const startAll = async () => {
    system = await startSystem({
      kubeconfig: cp.kubeconfigPath,
      temporal: plainTemporalConnection(temporal.address),
      workDir: path.join(dir, 'runs'),
      executor: 'local',
      leaderElection: false,
    });
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    co = kc.makeApiClient(k8s.CustomObjectsApi);
  };
  const get = (name: string) => co.getNamespacedCustomObject({ ...coords, name }) as Promise<KubeObject>;
  const create = (name: string) =>
    co.createNamespacedCustomObject({
      ...coords,
      body: { apiVersion: `${api.group}/${api.version}`, kind: api.kind, metadata: { name }, spec: {} },
    });
  const completed = (name: string, timeoutMs = 120_000) =>
    waitUntil(
      `${name} PipelineCompleted=True`,
      async () => {
        const o = await get(name);
        const c = (o.status?.conditions as Condition[] | undefined)?.find(
          (x) => x.type === 'PipelineCompleted',
        );
        return c?.status === 'True' ? o : undefined;
      },
      timeoutMs,
    );
  const running = (name: string) =>
    waitUntil(`${name} running`, async () => {
      const o = await get(name);
      const p = (o.status?.kratix as { workflows?: { pipelines?: { phase: string }[] } } | undefined)
        ?.workflows?.pipelines?.[0];
      return p?.phase === 'Running';
    });

  beforeAll(async () => {
    cp = await startControlPlane({ dir: path.join(dir, 'cp') });
    temporal = await startTemporalServer({ dir: path.join(dir, 'temporal'), dbFile: 'temporal.sqlite' });
    await startAll();
    await ensureDefaultStateStore(Kube.fromFile(cp.kubeconfigPath), dir);
    await co.createClusterCustomObject({
      group: 'platform.kratix.io',
      version: 'v1alpha1',
      plural: 'promises',
      body: promiseFor(api, { workflows: { resource: { configure: [slowCounter] } } }),
    });
  });

  afterAll(async () => {
    await system?.stop();
    await temporal?.stop();
    await cp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finishes in-flight and new Resources across a kube-apiserver restart', async () => {
    await waitUntil('the Promise API', () => co.listNamespacedCustomObject(coords).then(() => true));
    for (const n of ['a1', 'a2', 'a3']) await create(n);
    await running('a3');
    await cp.restartApiServer(3000); // down for 3 s while pipelines run
    await create('a4'); // a new Resource after the restart: the watches recovered
    for (const n of ['a1', 'a2', 'a3', 'a4']) expect((await completed(n)).status?.runs).toBe(1);
  });

  it('finishes in-flight and new Resources across a Temporal server restart', async () => {
    for (const n of ['t1', 't2']) await create(n);
    await running('t2');
    const ports = temporal.ports;
    await temporal.stop();
    await new Promise((r) => setTimeout(r, 3000));
    // The same ports and SQLite file: workers and clients reconnect to the same address.
    temporal = await startTemporalServer({
      dir: path.join(dir, 'temporal'),
      dbFile: 'temporal.sqlite',
      ports,
    });
    await create('t3');
    for (const n of ['t1', 't2', 't3']) expect((await completed(n)).status?.runs).toBe(1);
  });

  it('re-runs nothing after everything restarts from persisted state', async () => {
    const names = ['a1', 'a2', 'a3', 'a4', 't1', 't2', 't3'];
    await system!.stop();
    system = undefined;
    const ports = temporal.ports;
    await temporal.stop();
    await cp.stop();
    cp = await startControlPlane({ dir: path.join(dir, 'cp'), keepData: true });
    temporal = await startTemporalServer({
      dir: path.join(dir, 'temporal'),
      dbFile: 'temporal.sqlite',
      ports,
    });
    await startAll();
    // The controller re-lists and re-signals every object; durable timers mean no run is due.
    await new Promise((r) => setTimeout(r, 8000));
    for (const n of names) {
      const o = await completed(n);
      expect(o.status?.runs).toBe(1);
    }
    // Still working: a new Resource completes.
    await create('after');
    expect((await completed('after')).status?.runs).toBe(1);
  });
});
