import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from '@temporalio/worker';
import { workflowsPath } from '../../src/worker.js';
import { runCli } from '../support/cli.js';
import { createTestNamespace } from '../support/cluster.js';
import {
  applyPromise,
  promiseFor,
  resources,
  shPipeline,
  uniqueApi,
  waitForPromiseAvailable,
} from '../support/promises.js';
import { testTemporalAddress } from '../support/temporal.js';

const root = fileURLToPath(new URL('../histories', import.meta.url));
// One folder per recording (scripts/record-histories.ts); every one must keep replaying.
const files = readdirSync(root).flatMap((dir) =>
  readdirSync(path.join(root, dir))
    .filter((f) => f.endsWith('.json'))
    .map((f) => `${dir}/${f}`),
);

describe('recorded histories', () => {
  it('cover full lifecycles and failure paths: Promise, Resource, configure and delete runs, from before and after patches', () => {
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
        'v3/resource-configure-1.json', // local activities for the short steps
        'v3/promise-configure-1.json',
        // failure paths: a failed run, a run superseded by a newer spec, a blocked delete + its retry
        'v4/failures-resource-resourceLifecycle.json',
        'v4/failures-resource-configure-1.json',
        'v4/failures-resource-configure-2.json',
        'v4/failures-resource-delete.json',
        'v4/failures-resource-delete-2.json',
        // upstream controls: requiredPromises waits, workflow-control.yaml suspend and retryAfter,
        // the manual label interrupting a run, kratix.io/paused
        'v5-control/controls-promise-promiseLifecycle.json',
        'v5-control/controls-resource-resourceLifecycle.json',
        'v5-control/controls-resource-configure-1.json',
        'v5-control/controls-resource-configure-2.json',
        'v5-control/controls-resource-configure-3.json',
        // folded run steps: identity in the start step, start and completion in the pipelines
        'v6-fold/resource-configure-1.json',
        'v6-fold/failures-resource-configure-1.json',
        'v6-fold/controls-resource-configure-1.json',
        'v6-fold/promise-configure-1.json',
        // folded runs told so by their input: no patch marker, no search-attribute upsert
        'v7-input/resource-resourceLifecycle.json',
        'v7-input/resource-configure-1.json',
        'v7-input/failures-resource-configure-1.json',
        'v7-input/controls-resource-configure-1.json',
        'v7-input/promise-configure-1.json',
        // configure runs inside the lifecycle (inlineRuns): runs, failures, controls, KratixRunStatus
        'v8-inline/resource-resourceLifecycle.json',
        'v8-inline/promise-promiseLifecycle.json',
        'v8-inline/failures-resource-resourceLifecycle.json',
        'v8-inline/controls-resource-resourceLifecycle.json',
        'v8-inline/controls-promise-promiseLifecycle.json',
        'v8-inline/resource-delete.json',
        // a failing object deleted: KratixRunStatus removed in the update that marks the delete
        'v9-delete-status/failing-deleted-resource-resourceLifecycle.json',
        'v9-delete-status/failing-deleted-resource-delete.json',
        // the last pipeline of a run as a local activity; one still running after 5 s handed to a
        // regular activity (controls: interrupted by the manual label after the hand-over)
        'v10-local-pipelines/resource-resourceLifecycle.json',
        'v10-local-pipelines/failures-resource-resourceLifecycle.json',
        'v10-local-pipelines/controls-resource-resourceLifecycle.json',
        'v10-local-pipelines/failing-deleted-resource-resourceLifecycle.json',
        'v10-local-pipelines/promise-promiseLifecycle.json',
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

describe('kratix-temporal replay', () => {
  const cli = (args: string[]) => runCli(['replay', ...args]);

  it("replays a live Promise's and Resource's workflows from the server by query", async () => {
    const api = uniqueApi('replayed');
    await applyPromise(
      promiseFor(api, { workflows: { resource: { configure: [shPipeline('p', ['true'])] } } }),
    );
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('replayed');
    await resources(api, ns).create('r', {});
    await resources(api, ns).waitFor('r', 'True');
    const out = await cli([
      '--temporal-address',
      testTemporalAddress(),
      '--temporal-namespace',
      process.env.KRATIX_TEST_TEMPORAL_NAMESPACE ?? 'default',
      '--query',
      `KratixPromise = "${api.promise}"`,
    ]);
    expect(out.code).toBe(0);
    // The Promise lifecycle and the Resource lifecycle, its configure run inside.
    expect(out.stdout).toMatch(new RegExp(`ok {3}promise/${api.promise}/`));
    expect(out.stdout).toMatch(new RegExp(`ok {3}resource/${api.promise}/${ns}/r/[^/\\s]+$`, 'm'));
    expect(out.stdout).toMatch(/^\d+ replayed, 0 failed$/m);
  });

  it('fails with the workflow named when a history no longer matches the code', async () => {
    // A downloaded history whose run called an activity this code never schedules.
    const recorded = JSON.parse(readFileSync(path.join(root, 'v2/resource-configure-1.json'), 'utf8')) as {
      history: unknown;
    };
    const tampered = JSON.stringify(recorded.history).replaceAll(
      '"startConfigureRun"',
      '"startConfigureRunV0"',
    );
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'replay-')), 'downloaded.json');
    writeFileSync(file, tampered);
    const out = await cli(['--file', file, path.join(root, 'v2/resource-delete.json')]);
    expect(out.code).toBe(1);
    expect(out.stdout).toContain(
      "FAIL downloaded: [TMPRL1100] Nondeterminism error: Activity type of scheduled event 'startConfigureRunV0' does not match activity type of activity command 'startConfigureRun'",
    );
    expect(out.stdout).toMatch(/^ok {3}resource\/recorded\/default\/r\/[^/]+\/delete$/m);
    expect(out.stdout).toContain('2 replayed, 1 failed');
  });
});
