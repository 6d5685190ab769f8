import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { createTestNamespace } from '../support/cluster.js';
import {
  applyPromise,
  condition,
  eventsFor,
  promiseFor,
  resources,
  shPipeline,
  uniqueApi,
  waitForPromiseAvailable,
  waitUntil,
} from '../support/promises.js';

describe('pipeline timeout', () => {
  it('fails a pipeline that never exits once its timeout passes, and stops its containers', async () => {
    const api = uniqueApi('hang');
    const marker = `hang-${Date.now()}`;
    const pipeline = shPipeline('forever', [`exec sleep 600 # ${marker}`]);
    pipeline.metadata.annotations = { 'kratix-temporal.io/timeout': '4s' };
    await applyPromise(promiseFor(api, { workflows: { resource: { configure: [pipeline] } } }));
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('hang');
    const rs = resources(api, ns);
    await rs.create('r', {});
    const failed = await rs.waitFor('r', 'False', 'PipelineFailed', 60_000);
    expect(condition(failed, 'PipelineCompleted')?.message).toBe(
      'Pipeline "forever" failed: did not finish within 4s (pipelineTimeout); its containers were stopped',
    );
    const event = (await eventsFor(ns, 'r')).find((e) => e.reason === 'PipelineFailed');
    expect(event?.type).toBe('Warning');
    // The sandboxed process is gone (the marker is in its command line).
    await waitUntil(
      'the pipeline process stopped',
      async () => !execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).includes(marker),
      10_000,
    );
  });
});

describe('run folders', () => {
  it("removes a deleted Resource's run folders from the worker (a failed run keeps its own until then)", async () => {
    const api = uniqueApi('leftover');
    await applyPromise(
      promiseFor(api, { workflows: { resource: { configure: [shPipeline('fail', ['exit 3'])] } } }),
    );
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('leftover');
    const rs = resources(api, ns);
    const created = await rs.create('r', {});
    await rs.waitFor('r', 'False', 'PipelineFailed', 60_000);
    const runs = path.join(process.env.KRATIX_TEST_DIR!, 'runs', 'runs');
    const mine = () => readdirSync(runs).filter((e) => e.includes(created.metadata.uid!));
    expect(mine().length).toBeGreaterThan(0); // kept for debugging while the Resource exists
    await rs.delete('r');
    await rs.waitGone('r');
    await waitUntil('run folders removed', async () => mine().length === 0, 10_000);
  });
});
