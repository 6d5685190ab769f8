import { createTestNamespace } from '../support/cluster.js';
import { sharedWorkerPid } from '../support/shared-worker.js';
import {
  applyPromise,
  promiseFor,
  resources,
  shPipeline,
  uniqueApi,
  waitForPromiseAvailable,
  waitUntil,
} from '../support/promises.js';

/** The value of one sample in Prometheus text format, or undefined if absent. */
async function sample(
  url: string,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const text = await (await fetch(url)).text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const [series, value] = line.split(' ');
    if (want.every((l) => series!.includes(l))) return Number(value);
  }
  return undefined;
}

describe('Prometheus metrics', () => {
  it('count pipeline runs by outcome, state store writes and controller events', async () => {
    const worker = process.env.KRATIX_TEST_WORKER_METRICS_URL!;
    const controller = process.env.KRATIX_TEST_CONTROLLER_METRICS_URL!;
    const api = uniqueApi('metric');
    const writes = shPipeline('ok', [
      `printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: m\\n' > /kratix/output/cm.yaml`,
    ]);
    await applyPromise(
      promiseFor(api, {
        workflows: {
          resource: {
            configure: [
              writes,
              shPipeline('flaky', ['[ "$(cat /kratix/input/object.yaml | grep -c fail)" = 0 ]']),
            ],
          },
        },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('metric');
    const rs = resources(api, ns);
    const labels = { promise: api.promise, type: 'resource', action: 'configure' };
    // Counters live in the worker process; another test file kills the worker once (durability):
    // if that happens meanwhile, run the scenario again on the new worker.
    for (let attempt = 1; ; attempt++) {
      const pid = sharedWorkerPid();
      await rs.create(`good${attempt}`, { mode: 'fine' });
      await rs.create(`bad${attempt}`, { mode: 'fail' });
      await rs.waitFor(`good${attempt}`, 'True');
      await rs.waitFor(`bad${attempt}`, 'False', 'PipelineFailed');
      const counted = await waitUntil(
        'pipeline counters',
        async () =>
          ((await sample(worker, 'kratix_pipeline_runs_total', { ...labels, outcome: 'succeeded' })) ?? 0) >=
            3 &&
          ((await sample(worker, 'kratix_pipeline_runs_total', { ...labels, outcome: 'failed' })) ?? 0) >= 1,
        30_000,
      ).catch((err: unknown) => (attempt === 1 && sharedWorkerPid() !== pid ? false : Promise.reject(err)));
      if (counted && sharedWorkerPid() === pid) break;
    }
    // "good" ran both pipelines, "bad" the first: three successes; "bad" failed the second.
    expect(await sample(worker, 'kratix_pipeline_duration_seconds_count', labels)).toBeGreaterThanOrEqual(4);
    expect(
      await sample(worker, 'kratix_state_store_writes_total', { outcome: 'committed' }),
    ).toBeGreaterThanOrEqual(1);
    expect(await (await fetch(worker)).text()).toMatch(/^kratix_temporal_process_resident_memory_bytes \d+/m);
    expect(
      await sample(controller, 'kratix_controller_watch_events_total', { kind: api.kind, event: 'add' }),
    ).toBeGreaterThanOrEqual(2);
    expect(await (await fetch(controller)).text()).toMatch(/^kratix_controller_queue_depth \d+/m);
    expect((await fetch(controller.replace('/metrics', '/healthz'))).status).toBe(200);
    // The Temporal SDK's own worker metrics, on their own port.
    const sdk = await (await fetch(process.env.KRATIX_TEST_TEMPORAL_METRICS_URL!)).text();
    expect(sdk).toMatch(/^temporal_activity_execution_latency\S*\{.*activity_type="runPipeline"/m);
    expect(sdk).toMatch(/^temporal_workflow_task_execution_latency\S*\{.*workflow_type="resourceLifecycle"/m);
  });
});
