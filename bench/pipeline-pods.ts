// Benchmark: the kubernetes executor on the real one-node cluster. A Promise with one pipeline of
// three containers (toolbox image); Resources created one at a time, then a batch at once. Prints,
// per pipeline Pod: create -> Succeeded, and per container: the time from the previous container's
// end to its own as the watch saw them (millisecond clock, not the API's one-second timestamps);
// plus create -> PipelineCompleted.
//   npx tsx bench/pipeline-pods.ts                      # 5 sequential, then 10 at once
//   BENCH_SEQUENTIAL=10 BENCH_PARALLEL=20 npx tsx bench/pipeline-pods.ts
// Needs root and `bash scripts/setup.sh --node` (one node per machine: not while tests run).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { Condition, KubeObject } from '../src/core/types.js';
import { startDevEnvironment } from '../src/infra/dev-environment.js';
import { TOOLBOX_IMAGE } from '../src/infra/images.js';
import { Kube } from '../src/kube/client.js';
import { buildPipelineHelperImage, PIPELINE_HELPER_IMAGE } from '../src/pipeline-helper/image.js';
import { ensureDefaultStateStore } from '../src/statestore/default-store.js';
import { startSystem } from '../src/system.js';
import { promiseFor, shPipeline } from '../test/support/sample-promise.js';

const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 5);
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 10);
process.env.KRATIX_TEST_PIPELINE_IMAGE = TOOLBOX_IMAGE;

const dir = mkdtempSync(path.join(tmpdir(), 'kratix-bench-pods-'));
const tStart = Date.now();
const env = await startDevEnvironment({ dir, node: true });
const tUp = Date.now();
await env.node!.loadImage((await buildPipelineHelperImage()).archive);
const system = await startSystem({
  kubeconfig: env.kubeconfigPath,
  temporal: env.temporal,
  workDir: path.join(dir, 'runs'),
  executor: 'kubernetes',
  helperImage: PIPELINE_HELPER_IMAGE,
});
await ensureDefaultStateStore(Kube.fromFile(env.kubeconfigPath), dir);
const kc = new k8s.KubeConfig();
kc.loadFromFile(env.kubeconfigPath);
const co = kc.makeApiClient(k8s.CustomObjectsApi);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the watch saw of each pipeline Pod, on this process's clock. */
interface PodTimes {
  added: number;
  succeeded?: number;
  running: Map<string, number>;
  terminated: Map<string, number>;
}
const pods = new Map<string, PodTimes>();
const watch = await new k8s.Watch(kc).watch(
  '/api/v1/namespaces/default/pods',
  { labelSelector: 'kratix.io/promise-name=bench' },
  (type: string, pod: k8s.V1Pod) => {
    const now = Date.now();
    const name = pod.metadata!.name!;
    let t = pods.get(name);
    if (!t) pods.set(name, (t = { added: now, running: new Map(), terminated: new Map() }));
    for (const c of [
      ...(pod.status?.initContainerStatuses ?? []),
      ...(pod.status?.containerStatuses ?? []),
    ]) {
      if ((c.state?.running || c.state?.terminated) && !t.running.has(c.name)) t.running.set(c.name, now);
      if (c.state?.terminated && !t.terminated.has(c.name)) t.terminated.set(c.name, now);
    }
    if (pod.status?.phase === 'Succeeded' && !t.succeeded) t.succeeded = now;
    void type;
  },
  () => {},
);

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const p = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return `p50 ${p(0.5)} ms, p95 ${p(0.95)} ms, min ${s[0]} ms, max ${s[s.length - 1]} ms (n=${s.length})`;
};

try {
  const api = { promise: 'bench', group: 'bench.kratix.io', version: 'v1', kind: 'Bench', plural: 'benches' };
  const pipeline = shPipeline('three', {
    first: 'echo "first: done" > /kratix/metadata/status.yaml',
    second:
      'printf "apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: $KRATIX_OBJECT_NAME\\n" > /kratix/output/cm.yaml',
    third: 'echo "message: done" >> /kratix/metadata/status.yaml',
  });
  await co.createClusterCustomObject({
    group: 'platform.kratix.io',
    version: 'v1alpha1',
    plural: 'promises',
    body: promiseFor(api, { workflows: { resource: { configure: [pipeline] } } }),
  });
  const coords = { group: api.group, version: api.version, plural: api.plural, namespace: 'default' };
  for (;;) {
    const p = (await co
      .getClusterCustomObject({
        group: 'platform.kratix.io',
        version: 'v1alpha1',
        plural: 'promises',
        name: 'bench',
      })
      .catch(() => undefined)) as KubeObject | undefined;
    if (
      (p?.status?.conditions as Condition[] | undefined)?.some(
        (c) => c.type === 'Available' && c.status === 'True',
      )
    )
      break;
    await sleep(200);
  }
  await sleep(1000);

  const completed = async (name: string) => {
    for (;;) {
      const o = (await co.getNamespacedCustomObject({ ...coords, name })) as KubeObject;
      const c = (o.status?.conditions as Condition[] | undefined)?.find(
        (x) => x.type === 'PipelineCompleted',
      );
      if (c?.status === 'True') return Date.now();
      await sleep(100);
    }
  };
  const create = (name: string) =>
    co.createNamespacedCustomObject({
      ...coords,
      body: { apiVersion: `${api.group}/${api.version}`, kind: api.kind, metadata: { name }, spec: {} },
    });

  const seqLatency: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const t0 = Date.now();
    await create(`s${i}`);
    seqLatency.push((await completed(`s${i}`)) - t0);
  }
  const seqPods = new Set(pods.keys());

  const t0 = Date.now();
  await Promise.all(Array.from({ length: PARALLEL }, (_, i) => create(`p${i}`)));
  await Promise.all(Array.from({ length: PARALLEL }, (_, i) => completed(`p${i}`)));
  const parallelWall = Date.now() - t0;

  const report = (label: string, names: string[]) => {
    const ts = names.map((n) => pods.get(n)!).filter((t) => t.succeeded);
    console.log(`${label}: Pod added -> Succeeded ${stats(ts.map((t) => t.succeeded! - t.added))}`);
    // Containers of this size finish within one kubelet status update, so a container's own
    // start -> end reads 0: what each adds is the time from the previous one's end to its own.
    const order = ['kratix-input', 'first', 'second', 'third', 'kratix-collect'];
    order.forEach((c, i) => {
      const ds = ts
        .filter((t) => t.terminated.has(c))
        .map((t) => t.terminated.get(c)! - (i === 0 ? t.added : t.terminated.get(order[i - 1]!)!));
      if (ds.length) console.log(`  container ${c.padEnd(14)} previous end -> its end ${stats(ds)}`);
    });
  };
  console.log(`cluster up (control plane + node + Temporal): ${tUp - tStart} ms`);
  console.log(`sequential: create -> PipelineCompleted=True ${stats(seqLatency)}`);
  report('sequential', [...seqPods]);
  console.log(`${PARALLEL} at once: all PipelineCompleted=True in ${parallelWall} ms`);
  report(
    `${PARALLEL} at once`,
    [...pods.keys()].filter((n) => !seqPods.has(n)),
  );
} finally {
  watch.abort();
  await system.stop();
  await env.stop();
  rmSync(dir, { recursive: true, force: true });
}
