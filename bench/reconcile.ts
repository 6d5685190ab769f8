// Benchmark: N resources created at once, each with a trivial one-container pipeline that writes
// status and one output file to git. Prints wall time, per-resource latency, API requests per
// reconcile (from kube-apiserver's own metrics), Temporal history sizes and worker memory.
//   npx tsx bench/reconcile.ts            # 100 resources
//   BENCH_RESOURCES=1000 npx tsx bench/reconcile.ts
//   BENCH_IDLE_SECONDS=60 npx tsx bench/reconcile.ts   # then what they cost while idle
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { Client } from '@temporalio/client';
import { resourceWorkflowId } from '../src/core/names.js';
import type { Condition, KubeObject } from '../src/core/types.js';
import { resolveBinary } from '../src/infra/binaries.js';
import { startDevEnvironment } from '../src/infra/dev-environment.js';
import { Kube } from '../src/kube/client.js';
import { ensureDefaultStateStore } from '../src/statestore/default-store.js';
import { startSystem } from '../src/system.js';
import { connectTemporalClient } from '../src/temporal/connection.js';
import { promiseFor, shPipeline } from '../test/support/sample-promise.js';

const N = Number(process.env.BENCH_RESOURCES ?? 100);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 0);

/** CPU seconds used so far by this process and each child (etcd, kube-apiserver, temporal). */
function cpuByProcess(): Map<string, number> {
  const own = process.cpuUsage();
  const out = new Map<string, number>([['controller+worker', (own.user + own.system) / 1e6]]);
  const tick = 100; // USER_HZ on Linux
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[1]) !== process.pid) continue; // field 4: ppid
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/-v[\d.]*$/, '');
      out.set(name, (out.get(name) ?? 0) + (Number(rest[11]) + Number(rest[12])) / tick); // utime+stime
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}
const dir = mkdtempSync(path.join(tmpdir(), 'kratix-bench-'));
const env = await startDevEnvironment({ dir });
const system = await startSystem({
  kubeconfig: env.kubeconfigPath,
  temporal: env.temporal,
  workDir: path.join(dir, 'runs'),
  executor: 'local',
});
await ensureDefaultStateStore(Kube.fromFile(env.kubeconfigPath), dir);
const kc = new k8s.KubeConfig();
kc.loadFromFile(env.kubeconfigPath);
const co = kc.makeApiClient(k8s.CustomObjectsApi);
const core = kc.makeApiClient(k8s.CoreV1Api);

/** Sum of apiserver_request_total, excluding WATCH (long-lived) requests. */
function apiRequests(): number {
  const text = execFileSync(resolveBinary('kubectl'), ['get', '--raw', '/metrics'], {
    env: { ...process.env, KUBECONFIG: env.kubeconfigPath },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('apiserver_request_total{') && !line.includes('verb="WATCH"'))
      total += Number(line.split(' ').pop());
  }
  return total;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
try {
  const api = { promise: 'bench', group: 'bench.kratix.io', version: 'v1', kind: 'Bench', plural: 'benches' };
  const trivial = shPipeline('trivial', {
    c: 'echo "message: done" > /kratix/metadata/status.yaml; printf "apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: $KRATIX_OBJECT_NAME\\n" > /kratix/output/cm.yaml',
  });
  await co.createClusterCustomObject({
    group: 'platform.kratix.io',
    version: 'v1alpha1',
    plural: 'promises',
    body: promiseFor(api, { workflows: { resource: { configure: [trivial] } } }),
  });
  const coords = { group: 'bench.kratix.io', version: 'v1', plural: 'benches', namespace: 'default' };
  for (;;) {
    const ok = await co.listNamespacedCustomObject(coords).then(
      () => true,
      () => false,
    );
    const p = (await co.getClusterCustomObject({
      group: 'platform.kratix.io',
      version: 'v1alpha1',
      plural: 'promises',
      name: 'bench',
    })) as KubeObject;
    if (
      ok &&
      (p.status?.conditions as Condition[] | undefined)?.some(
        (c) => c.type === 'Available' && c.status === 'True',
      )
    )
      break;
    await sleep(200);
  }
  await sleep(2000); // let the controller's resource watch settle
  const requestsBefore = apiRequests();
  const created = new Map<string, number>();
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      const name = `b${i}`;
      created.set(name, Date.now());
      await co.createNamespacedCustomObject({
        ...coords,
        body: { apiVersion: 'bench.kratix.io/v1', kind: 'Bench', metadata: { name }, spec: { i } },
      });
    }),
  );
  const done = new Map<string, number>();
  while (done.size < N) {
    const list = (await co.listNamespacedCustomObject(coords)) as { items: KubeObject[] };
    for (const o of list.items) {
      if (done.has(o.metadata.name)) continue;
      const c = (o.status?.conditions as Condition[] | undefined)?.find(
        (x) => x.type === 'PipelineCompleted',
      );
      if (c?.status === 'True') done.set(o.metadata.name, Date.now());
    }
    if (Date.now() - t0 > 30 * 60_000) throw new Error(`only ${done.size}/${N} completed in 30 min`);
    await sleep(200);
  }
  const wall = Date.now() - t0;
  await sleep(1000);
  const requests = apiRequests() - requestsBefore;
  const latencies = [...done].map(([n, t]) => t - created.get(n)!).sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;

  const connection = await connectTemporalClient(env.temporal);
  const client = new Client({ connection });
  const sample = (await co.getNamespacedCustomObject({ ...coords, name: 'b0' })) as KubeObject;
  const id = resourceWorkflowId({
    promise: 'bench',
    namespace: 'default',
    name: 'b0',
    uid: sample.metadata.uid!,
  });
  const parent = (await client.workflow.getHandle(id).fetchHistory()).events?.length ?? 0;
  const child = (await client.workflow.getHandle(`${id}/configure/1`).fetchHistory()).events?.length ?? 0;
  await connection.close();
  const events = (await core.listNamespacedEvent({ namespace: 'default' })).items.length;

  console.log(`resources:                 ${N}`);
  console.log(
    `all PipelineCompleted in:  ${(wall / 1000).toFixed(1)} s (${(N / (wall / 1000)).toFixed(1)} resources/s)`,
  );
  console.log(`latency create→completed:  p50 ${pct(50)} ms, p95 ${pct(95)} ms, max ${latencies.at(-1)} ms`);
  console.log(
    `API requests (non-watch):  ${requests} total, ${(requests / N).toFixed(1)} per reconcile (incl. pipeline kubectl-free run, events)`,
  );
  console.log(`Kubernetes Events:         ${events} (${(events / N).toFixed(1)} per resource)`);
  console.log(`history events:            lifecycle ${parent}, configure run ${child}`);
  console.log(
    `process RSS after run:     ${(process.memoryUsage().rss / 1024 / 1024).toFixed(0)} MiB (controller + worker + bench)`,
  );

  // What N idle resources cost: CPU of every process over a quiet window (their timers are
  // durable Temporal timers; nothing should poll per resource).
  if (IDLE_SECONDS > 0) {
    const before = cpuByProcess();
    await sleep(IDLE_SECONDS * 1000);
    const after = cpuByProcess();
    const parts = [...after].map(
      ([name, t]) => `${name} ${(((t - (before.get(name) ?? 0)) / IDLE_SECONDS) * 100).toFixed(1)}%`,
    );
    console.log(`idle CPU over ${IDLE_SECONDS} s:       ${parts.join(', ')} (of one core)`);
    console.log(
      `process RSS when idle:     ${(process.memoryUsage().rss / 1024 / 1024).toFixed(0)} MiB (controller + worker + bench)`,
    );
  }
} finally {
  await system.stop();
  await env.stop();
  rmSync(dir, { recursive: true, force: true });
}
