// Records the Temporal histories of a full resource lifecycle (Promise install, resource create,
// spec update, manual re-run, delete) and of the failure paths (a failing run and its retry, a
// run superseded by a newer spec, a blocked delete retried by the manual label) into
// test/histories/, and upstream's controls (requiredPromises, workflow-control.yaml suspend and
// retryAfter, the manual label interrupting a run, kratix.io/paused), for the replay test that
// guards workflow determinism. Re-record only for intentional, patched() workflow changes:
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

/**
 * A Resource whose configure pipeline fails until its spec says ok, is superseded mid-run by a
 * newer spec, and whose delete pipeline fails until a ConfigMap exists (then the manual label).
 */
async function recordFailurePaths(): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const api = {
    promise: 'recorded-failures',
    group: 'fail.kratix.io',
    version: 'v1',
    kind: 'Flaky',
    plural: 'flakies',
  };
  const coords = { group: api.group, version: api.version, plural: api.plural, namespace: 'default' };
  const get = () =>
    co.getNamespacedCustomObject({ ...coords, name: 'f' }) as Promise<{
      metadata: { labels?: Record<string, string> };
      status?: {
        observedGeneration?: number;
        conditions?: { type: string; status: string; reason?: string }[];
      };
    }>;
  const condition = async () => (await get()).status?.conditions?.find((c) => c.type === 'PipelineCompleted');
  await co.createClusterCustomObject({
    group: 'platform.kratix.io',
    version: 'v1alpha1',
    plural: 'promises',
    body: promiseFor(api, {
      workflows: {
        resource: {
          configure: [
            shPipeline('check', {
              c: 'sleep 2; grep -q "ok: true" /kratix/input/object.yaml || { echo "spec not ok"; exit 3; }',
            }),
          ],
          delete: [
            shPipeline(
              'guarded',
              { d: 'kubectl get configmap allow-delete -n default' },
              {
                rbac: { permissions: [{ apiGroups: [''], verbs: ['get'], resources: ['configmaps'] }] },
              },
            ),
          ],
        },
      },
    }),
  });
  await until('failures CRD', async () => !!(await co.listNamespacedCustomObject(coords)));
  await co.createNamespacedCustomObject({
    ...coords,
    body: {
      apiVersion: `${api.group}/${api.version}`,
      kind: api.kind,
      metadata: { name: 'f' },
      spec: { ok: false },
    },
  });
  await until('a failed run', async () => (await condition())?.reason === 'PipelineFailed');
  // A fixed spec runs at once; a newer one during that run supersedes it.
  await co.patchNamespacedCustomObject({ ...coords, name: 'f', body: { spec: { ok: true } } }, merge);
  await sleep(1000);
  await co.patchNamespacedCustomObject({ ...coords, name: 'f', body: { spec: { ok: true, v: 3 } } }, merge);
  await until('generation 3 completed', async () => {
    const o = await get();
    return o.status?.observedGeneration === 3 && (await condition())?.status === 'True';
  });
  await co.deleteNamespacedCustomObject({ ...coords, name: 'f' });
  await until(
    'delete blocked',
    async () => (await get()).status?.conditions?.some((c) => c.reason === 'DeletePipelineFailed') ?? false,
  );
  await core.createNamespacedConfigMap({
    namespace: 'default',
    body: { metadata: { name: 'allow-delete' } },
  });
  await co.patchNamespacedCustomObject(
    { ...coords, name: 'f', body: { metadata: { labels: { [MANUAL_RECONCILIATION_LABEL]: 'true' } } } },
    merge,
  );
  await until('flaky resource gone', gone(get));
  // A failing object deleted: its lifecycle removes KratixRunStatus as it marks the delete.
  await co.createNamespacedCustomObject({
    ...coords,
    body: { apiVersion: `${api.group}/${api.version}`, kind: api.kind, metadata: { name: 'g' }, spec: {} },
  });
  const failing = () =>
    co.getNamespacedCustomObject({ ...coords, name: 'g' }) as Promise<{
      status?: { conditions?: { type: string; reason?: string }[] };
    }>;
  await until('g failed', async () =>
    ((await failing()).status?.conditions ?? []).some((c) => c.reason === 'PipelineFailed'),
  );
  await co.deleteNamespacedCustomObject({ ...coords, name: 'g' });
  await until('failing resource gone', gone(failing));
}

const promiseCoords = { group: 'platform.kratix.io', version: 'v1alpha1', plural: 'promises' };
/** A check for `until`: true once reading the object fails (it is gone). */
const gone = (read: () => Promise<unknown>) => async () => {
  try {
    await read();
    return false;
  } catch {
    return true;
  }
};
const promiseGone = (name: string) => gone(() => co.getClusterCustomObject({ ...promiseCoords, name }));

/**
 * A Promise that waits for a required Promise; its Resource suspends (workflow-control.yaml) until
 * approved and re-labelled, asks for a retry, is interrupted mid-pipeline by the manual label, and
 * is paused and resumed.
 */
async function recordControlPaths(): Promise<void> {
  const api = {
    promise: 'recorded-controls',
    group: 'ctl.kratix.io',
    version: 'v1',
    kind: 'Gated',
    plural: 'gateds',
  };
  const coords = { group: api.group, version: api.version, plural: api.plural, namespace: 'default' };
  type Obj = {
    metadata: { labels?: Record<string, string> };
    status?: {
      conditions?: { type: string; status: string; reason?: string }[];
      kratix?: { workflows?: { pipelines?: { name: string; phase: string }[] } };
    };
  };
  const get = () => co.getNamespacedCustomObject({ ...coords, name: 'c' }) as Promise<Obj>;
  const cond = (o: Obj, type: string) => o.status?.conditions?.find((c) => c.type === type);
  const phase = (o: Obj, name: string) =>
    o.status?.kratix?.workflows?.pipelines?.find((p) => p.name === name)?.phase;
  const patch = (body: unknown) => co.patchNamespacedCustomObject({ ...coords, name: 'c', body }, merge);
  await co.createClusterCustomObject({
    ...promiseCoords,
    body: promiseFor(api, {
      requiredPromises: [{ name: 'recorded-dep' }],
      workflows: {
        resource: {
          configure: [
            shPipeline('gate', {
              g: `if ! grep -Eq 'approved: "?yes' /kratix/input/object.yaml; then
  printf 'suspend: true\nmessage: needs approval\n' > /kratix/metadata/workflow-control.yaml
elif ! grep -q 'attempts: 1' /kratix/input/object.yaml; then
  printf 'retryAfter: 1s\n' > /kratix/metadata/workflow-control.yaml
fi`,
            }),
            shPipeline('slow', { s: `grep -Eq 'fast: "?yes' /kratix/input/object.yaml || sleep 60` }),
          ],
        },
      },
    }),
  });
  await sleep(3000);
  await co.createClusterCustomObject({
    ...promiseCoords,
    body: promiseFor({
      promise: 'recorded-dep',
      group: 'dep.kratix.io',
      version: 'v1',
      kind: 'Dep',
      plural: 'deps',
    }),
  });
  await until('controls CRD', async () => !!(await co.listNamespacedCustomObject(coords)));
  await co.createNamespacedCustomObject({
    ...coords,
    body: { apiVersion: `${api.group}/${api.version}`, kind: api.kind, metadata: { name: 'c' }, spec: {} },
  });
  await until('suspended', async () => phase(await get(), 'gate') === 'Suspended');
  await patch({
    metadata: { annotations: { approved: 'yes' }, labels: { [MANUAL_RECONCILIATION_LABEL]: 'true' } },
  });
  await until('slow pipeline running', async () => phase(await get(), 'slow') === 'Running');
  await patch({
    metadata: { annotations: { fast: 'yes' }, labels: { [MANUAL_RECONCILIATION_LABEL]: 'true' } },
  });
  await until('completed', async () => {
    const o = await get();
    return (
      !o.metadata.labels?.[MANUAL_RECONCILIATION_LABEL] && cond(o, 'PipelineCompleted')?.status === 'True'
    );
  });
  await patch({ metadata: { labels: { 'kratix.io/paused': 'true' } } });
  await until('paused', async () => cond(await get(), 'Reconciled')?.reason === 'PausedReconciliation');
  await patch({ metadata: { labels: { 'kratix.io/paused': null } } });
  await until('resumed and completed', async () => {
    const o = await get();
    return (
      cond(o, 'Reconciled')?.reason !== 'PausedReconciliation' &&
      cond(o, 'PipelineCompleted')?.status === 'True'
    );
  });
  await sleep(1000);
  await co.deleteNamespacedCustomObject({ ...coords, name: 'c' });
  await until('controls resource gone', gone(get));
  await co.deleteClusterCustomObject({ ...promiseCoords, name: 'recorded-controls' });
  await until('controls promise gone', promiseGone('recorded-controls'));
}

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
  await until(
    'resource gone',
    gone(() => co.getNamespacedCustomObject({ ...coords, name: 'r' })),
  );

  await recordFailurePaths();
  await recordControlPaths();

  // Finally the Promise itself: its delete run and cleanup.
  await co.deleteClusterCustomObject({
    group: 'platform.kratix.io',
    version: 'v1alpha1',
    plural: 'promises',
    name: 'recorded',
  });
  await until('promise gone', promiseGone('recorded'));

  const connection = await connectTemporalClient(env.temporal);
  const client = new Client({ connection });
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const query =
    "KratixPromise = 'recorded' OR KratixPromise = 'recorded-failures' OR KratixPromise = 'recorded-controls'";
  for await (const wf of client.workflow.list({ query })) {
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
    const owner = wf.workflowId.startsWith('promise/recorded-controls/')
      ? 'controls-promise'
      : wf.workflowId.startsWith('resource/recorded-controls/')
        ? 'controls-resource'
        : wf.workflowId.startsWith('promise/recorded-failures/')
          ? 'failures-promise'
          : wf.workflowId.startsWith('promise/')
            ? 'promise'
            : wf.workflowId.startsWith('resource/recorded-failures/default/g/')
              ? 'failing-deleted-resource'
              : wf.workflowId.startsWith('resource/recorded-failures/')
                ? 'failures-resource'
                : 'resource';
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
