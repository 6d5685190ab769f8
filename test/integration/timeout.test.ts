import { execFileSync } from 'node:child_process';
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
