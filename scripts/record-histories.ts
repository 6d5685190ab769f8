// Records the Temporal histories of a full resource lifecycle (Promise install, resource create,
// spec update, manual re-run, delete) into test/histories/, for the replay test that guards
// workflow determinism. Re-record only for intentional, patched() workflow changes:
//   npx tsx scripts/record-histories.ts <folder name, e.g. v3>
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { Client } from '@temporalio/client';
import { execFileSync } from 'node:child_process';
import { resolveBinary } from '../src/infra/binaries.js';
import { MANUAL_RECONCILIATION_LABEL } from '../src/core/constants.js';
import { startDevEnvironment } from '../src/infra/dev-environment.js';
import { startSystem } from '../src/system.js';
import { connectTemporalClient } from '../src/temporal/connection.js';
import { promiseFor, shPipeline } from '../test/support/sample-promise.js';

// Each recording goes to its own folder; older folders stay, so code must keep replaying them.
const label = process.argv[2] ?? 'latest';
const out = fileURLToPath(new URL(`../test/histories/${label}`, import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'kratix-record-'));
const env = await startDevEnvironment({ dir });
const system = await startSystem({
  kubeconfig: env.kubeconfigPath,
  temporal: env.temporal,
  workDir: path.join(dir, 'runs'),
  executor: 'local',
});
const kc = new k8s.KubeConfig();
kc.loadFromFile(env.kubeconfigPath);
const co = kc.makeApiClient(k8s.CustomObjectsApi);
const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = async (what: string, f: () => Promise<boolean>) => {
  for (let i = 0; i < 240; i++) {
    if (await f().catch(() => false)) return;
    await sleep(250);
  }
  throw new Error(`timed out: ${what}`);
};

try {
  const api = {
    promise: 'recorded',
    group: 'example.kratix.io',
    version: 'v1',
    kind: 'Record',
    plural: 'records',
  };
  const configure = [
    shPipeline('one', { a: 'echo "one: done" > /kratix/metadata/status.yaml' }),
    shPipeline('two', { b: 'echo "message: recorded" > /kratix/metadata/status.yaml' }),
  ];
  await co.createClusterCustomObject({
    group: 'platform.kratix.io',
    version: 'v1alpha1',
    plural: 'promises',
    body: promiseFor(api, { workflows: { resource: { configure } } }),
  });
  const coords = { group: 'example.kratix.io', version: 'v1', plural: 'records', namespace: 'default' };
  await until('CRD', async () => !!(await co.listNamespacedCustomObject(coords)));
  await co.createNamespacedCustomObject({
    ...coords,
    body: { apiVersion: 'example.kratix.io/v1', kind: 'Record', metadata: { name: 'r' }, spec: { v: 1 } },
  });
  const completedGen = (gen: number) => async () => {
    const o = (await co.getNamespacedCustomObject({ ...coords, name: 'r' })) as {
      status?: { observedGeneration?: number; conditions?: { status: string }[] };
    };
    return o.status?.observedGeneration === gen && o.status.conditions?.[0]?.status === 'True';
  };
  await until('first run', completedGen(1));
  await co.patchNamespacedCustomObject({ ...coords, name: 'r', body: { spec: { v: 2 } } }, merge);
  await until('second run', completedGen(2));
  await co.patchNamespacedCustomObject(
    { ...coords, name: 'r', body: { metadata: { labels: { [MANUAL_RECONCILIATION_LABEL]: 'true' } } } },
    merge,
  );
  await until('manual run', async () => {
    const o = (await co.getNamespacedCustomObject({ ...coords, name: 'r' })) as {
      metadata: { labels?: Record<string, string> };
    };
    return !o.metadata.labels?.[MANUAL_RECONCILIATION_LABEL] && (await completedGen(2)());
  });
  await sleep(1000);
  await co.deleteNamespacedCustomObject({ ...coords, name: 'r' });
  await until('resource gone', async () => {
    try {
      await co.getNamespacedCustomObject({ ...coords, name: 'r' });
      return false;
    } catch {
      return true;
    }
  });

  // Finally the Promise itself: its delete run and cleanup.
  await co.deleteClusterCustomObject({
    group: 'platform.kratix.io',
    version: 'v1alpha1',
    plural: 'promises',
    name: 'recorded',
  });
  await until('promise gone', async () => {
    try {
      await co.getClusterCustomObject({
        group: 'platform.kratix.io',
        version: 'v1alpha1',
        plural: 'promises',
        name: 'recorded',
      });
      return false;
    } catch {
      return true;
    }
  });

  const connection = await connectTemporalClient(env.temporal);
  const client = new Client({ connection });
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  for await (const wf of client.workflow.list({ query: "KratixPromise = 'recorded'" })) {
    // The CLI's JSON is the same format the Web UI downloads, and what runReplayHistories accepts.
    const json = execFileSync(
      resolveBinary('temporal'),
      [
        'workflow',
        'show',
        '--address',
        env.temporalAddress,
        '-w',
        wf.workflowId,
        '-r',
        wf.runId,
        '--output',
        'json',
      ],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    const run = /\/(configure\/\d+|delete(?:\/\d+)?)$/.exec(wf.workflowId)?.[1]?.replace('/', '-');
    const owner = wf.workflowId.startsWith('promise/') ? 'promise' : 'resource';
    const file = `${owner}-${run ?? wf.type}.json`;
    // Replay needs the workflow id too (the workflows read it), so it is stored beside the history.
    writeFileSync(
      path.join(out, file),
      JSON.stringify({ workflowId: wf.workflowId, history: JSON.parse(json) }, null, 1),
    );
    console.log(`recorded ${wf.workflowId} -> ${file}`);
  }
  await connection.close();
} finally {
  await system.stop();
  await env.stop();
  rmSync(dir, { recursive: true, force: true });
}
