import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from '@temporalio/worker';
import { workflowsPath } from '../../src/worker.js';

const root = fileURLToPath(new URL('../histories', import.meta.url));
// One folder per recording (scripts/record-histories.ts); every one must keep replaying.
const files = readdirSync(root).flatMap((dir) =>
  readdirSync(path.join(root, dir))
    .filter((f) => f.endsWith('.json'))
    .map((f) => `${dir}/${f}`),
);

describe('recorded histories', () => {
  it('cover full lifecycles: Promise, Resource, configure and delete runs, from before and after patches', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'v1/promiseLifecycle.json',
        'v1/resourceLifecycle.json',
        'v1/configureRun-1.json',
        'v2/promise-promiseLifecycle.json',
        'v2/promise-configure-1.json',
        'v2/resource-resourceLifecycle.json',
        'v2/resource-configure-1.json',
        'v2/resource-delete.json',
        'v2/promise-delete.json',
      ]),
    );
  });

  it('replay cleanly against the current workflow code (determinism guard)', async () => {
    const histories = files.map(
      (f) => JSON.parse(readFileSync(path.join(root, f), 'utf8')) as { workflowId: string; history: never },
    );
    const results = [];
    for await (const r of Worker.runReplayHistories({ workflowsPath: workflowsPath() }, histories)) {
      results.push({ workflowId: r.workflowId, error: r.error ? String(r.error) : undefined });
    }
    expect(results).toHaveLength(files.length);
    expect(results.filter((r) => r.error)).toEqual([]);
  });
});
