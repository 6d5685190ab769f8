// Faults of the infrastructure, on an environment of this file's own (restarting the shared one
// would disturb every other test): kube-apiserver and Temporal restarts mid-run, then a restart of
// everything from persisted state. Loopback only, bounded by timeouts.
import { startControlPlane } from '../../src/infra/control-plane.js';
import { shPipeline, type TestApi } from '../support/sample-promise.js';
import { waitUntil } from '../support/promises.js';
import { OwnEnvironment } from '../support/own-environment.js';

const api: TestApi = {
  promise: 'faulty',
  group: 'faults.test.kratix.io',
  version: 'v1',
  kind: 'Faulty',
  plural: 'faulties',
};
// Counts its executions in status (runs) and takes a few seconds, so faults land mid-run.
const slowCounter = shPipeline('count', [
  `runs=$(sed -n 's/^  runs: \\([0-9]*\\)$/\\1/p' /kratix/input/object.yaml)
sleep 3
echo "runs: $(( \${runs:-0} + 1 ))" > /kratix/metadata/status.yaml`,
]);

describe('faults: infrastructure restarts', () => {
  // Temporal keeps its state in a file: a restart of the server keeps the workflows.
  const env = new OwnEnvironment(api, 'faults', {}, 'temporal.sqlite');
  const create = (name: string) => env.create(name);
  const completed = (name: string) => env.completed(name);
  const running = (name: string) =>
    waitUntil(`${name} running`, async () => {
      const o = await env.get(name);
      const p = (o.status?.kratix as { workflows?: { pipelines?: { phase: string }[] } } | undefined)
        ?.workflows?.pipelines?.[0];
      return p?.phase === 'Running';
    });

  beforeAll(() => env.start([slowCounter]));
  afterAll(() => env.stop());

  it('finishes in-flight and new Resources across a kube-apiserver restart', async () => {
    for (const n of ['a1', 'a2', 'a3']) await create(n);
    await running('a3');
    await env.cp.restartApiServer(3000); // down for 3 s while pipelines run
    await create('a4'); // a new Resource after the restart: the watches recovered
    for (const n of ['a1', 'a2', 'a3', 'a4']) expect((await completed(n)).status?.runs).toBe(1);
  });

  it('finishes in-flight and new Resources across a Temporal server restart', async () => {
    for (const n of ['t1', 't2']) await create(n);
    await running('t2');
    const ports = env.temporal.ports;
    await env.temporal.stop();
    await new Promise((r) => setTimeout(r, 3000));
    // The same ports and SQLite file: workers and clients reconnect to the same address.
    env.temporal = await env.startTemporal(ports);
    await create('t3');
    for (const n of ['t1', 't2', 't3']) expect((await completed(n)).status?.runs).toBe(1);
  });

  it('re-runs nothing after everything restarts from persisted state', async () => {
    const names = ['a1', 'a2', 'a3', 'a4', 't1', 't2', 't3'];
    await env.system!.stop();
    env.system = undefined;
    const ports = env.temporal.ports;
    await env.temporal.stop();
    await env.cp.stop();
    env.cp = await startControlPlane({ dir: `${env.dir}/cp`, keepData: true });
    env.temporal = await env.startTemporal(ports);
    await env.startSystem();
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
