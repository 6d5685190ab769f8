// `npm run bench`: the numbers issue 11 asks for, in one run on one machine.
//   latency      one Resource at a time, side by side with the straight script (bench/lib/straight-script.ts)
//   breakdown    where one run's time goes, from its Temporal history
//   throughput   BENCH_THROUGHPUT (1000) Resources created at once
//   idle         BENCH_SCALE (10000) completed Resources, then BENCH_IDLE_SECONDS (60) of quiet
//   restart      controller and worker stopped and started over them: re-runs and catch-up time
// BENCH_PHASES=latency,throughput limits what runs. Prints a table; writes JSON (BENCH_OUT,
// default .kratix-temporal/bench/result.json).
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { Client } from '@temporalio/client';
import { resourceWorkflowId } from '../src/core/names.js';
import type { Condition, KubeObject } from '../src/core/types.js';
import { resolveBinary } from '../src/infra/binaries.js';
import { startDevEnvironment } from '../src/infra/dev-environment.js';
import { writeControllerKubeconfig } from '../test/support/controller-identity.js';
import { waitFor } from '../src/infra/wait.js';
import { Kube } from '../src/kube/client.js';
import { ensureDefaultStateStore } from '../src/statestore/default-store.js';
import { connectTemporalClient } from '../src/temporal/connection.js';
import { writeWorkflowBundle } from '../src/worker.js';
import { promiseFor, shPipeline } from '../test/support/sample-promise.js';
import { CompletionWatch } from './lib/completion.js';
import { componentEntry, metricValue, startComponent, type Component } from './lib/components.js';
import { runPhases } from './lib/history.js';
import { childProcesses, CpuMeter, percentile, round, sampleProcess } from './lib/procs.js';
import { StraightScript } from './lib/straight-script.js';

const num = (name: string, dflt: number) => Number(process.env[name] ?? dflt);
const LATENCY_RUNS = num('BENCH_LATENCY', 30);
const THROUGHPUT = num('BENCH_THROUGHPUT', 1000);
const SCALE = num('BENCH_SCALE', 10_000);
const IDLE_SECONDS = num('BENCH_IDLE_SECONDS', 60);
const PHASES = new Set(
  (process.env.BENCH_PHASES ?? 'latency,throughput,idle,restart').split(',').map((s) => s.trim()),
);
const OUT = path.resolve(process.env.BENCH_OUT ?? '.kratix-temporal/bench/result.json');

const SCRIPT =
  'echo "message: done" > /kratix/metadata/status.yaml; printf "apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: $KRATIX_OBJECT_NAME\\n" > /kratix/output/cm.yaml';
const api = { promise: 'bench', group: 'bench.kratix.io', version: 'v1', kind: 'Bench', plural: 'benches' };
const coords = { group: api.group, version: api.version, plural: api.plural, namespace: 'default' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}`);

interface Percentiles {
  p50: number;
  p95: number;
  max?: number;
}
interface BenchResult {
  machine: { cores: number; node: string };
  startedAt: string;
  finishedAt?: string;
  latency?: {
    runs: number;
    ms: Percentiles;
    scriptMs: Percentiles;
    ratioP50: number;
    breakdown: Awaited<ReturnType<typeof runPhases>>;
  };
  throughput?: {
    resources: number;
    seconds: number;
    perSecond: number;
    latencyMs: Percentiles;
    apiRequestsPerReconcile: number;
    apiRequestsByKind: Record<string, number>;
    eventsPerResource: number;
    /** State store pushes (each a commit of one or more runs' output: group commit). */
    gitPushesPerReconcile: number;
    /** Temporal frontend requests (controller and worker, long polls included) per reconcile. */
    temporalRequestsPerReconcile: number;
    temporalRequestsByOperation: Record<string, number>;
    /** The Temporal server's persistence operations (SQLite transactions) per reconcile. */
    temporalPersistencePerReconcile: number;
    temporalPersistenceByOperation: Record<string, number>;
    cpuSeconds: Record<string, number>;
    /** Of those, the seconds of the processes they started (the worker's runner, pipelines, git). */
    startedCpuSeconds: Record<string, number>;
    /** The machine during the burst: CPU in use, and taken by the VM's host (steal). */
    machine: { busyPercent: number; stealPercent: number };
    rssMiB: Record<string, number>;
  };
  scale?: { resources: number; fillSeconds: number };
  idle?: {
    resources: number;
    seconds: number;
    cpuPercentOfOneCore: Record<string, number>;
    rssMiB: Record<string, number>;
    lifecycleHistoryEvents: number;
  };
  restart?: {
    resources: number;
    processesStartSeconds: number;
    caughtUpSeconds: number;
    newResourceCompletedSeconds: number;
    pipelineReRuns: number;
    rssMiB: Record<string, number>;
  };
}

const result: BenchResult = {
  machine: { cores: (await import('node:os')).cpus().length, node: process.version },
  startedAt: new Date().toISOString(),
};

const dir = mkdtempSync(path.join(tmpdir(), 'kratix-bench-'));
const logDir = path.join(path.dirname(OUT), 'logs');
mkdirSync(logDir, { recursive: true });
log(`work dir ${dir}, logs ${logDir}`);
const env = await startDevEnvironment({ dir });
const kube = Kube.fromFile(env.kubeconfigPath);
const kc = new k8s.KubeConfig();
kc.loadFromFile(env.kubeconfigPath);
// Keep-alive clients (as the controller and worker have, and as `kubectl create -f` of many objects
// uses one connection): client-node's own open a TLS connection per request, which cost the bench
// and the API server more CPU in the burst than several of the parts measured.
const co = kube.custom;
const core = kube.core;
const connection = await connectTemporalClient(env.temporal);
const client = new Client({ connection });
const bundle = path.join(dir, 'workflow-bundle.js');
await writeWorkflowBundle(bundle);
// The controller and worker run as the ServiceAccount of deploy/rbac/controller.yaml, with a token
// as in a cluster (not the admin's client certificate): RBAC and token authentication as deployed.
const componentOpts = {
  kubeconfig:
    process.env.BENCH_ADMIN_IDENTITY === '1'
      ? env.kubeconfigPath
      : await writeControllerKubeconfig(kube, dir),
  temporalAddress: env.temporalAddress,
  workDir: path.join(dir, 'runs'),
  workflowBundle: bundle,
  logDir,
};
let controller: Component | undefined;
let worker: Component | undefined;
const entry = componentEntry();
const startComponents = async () => {
  [controller, worker] = await Promise.all([
    startComponent('controller', componentOpts, entry),
    startComponent('worker', componentOpts, entry),
  ]);
};

/** Measured with what they start: the worker's pipelines and git processes are its cost. */
const WHOLE = new Set(['controller', 'worker']);
/** The processes whose CPU counts: ours and the servers the dev environment started. */
const pids = () => {
  const m = childProcesses(process.pid);
  for (const n of m.keys()) if (n === 'node' || n.startsWith('node#')) m.delete(n); // named below
  for (const c of [controller, worker]) if (c) m.set(c.name, c.pid);
  m.set('bench', process.pid);
  return m;
};
const rss = () =>
  Object.fromEntries(
    [controller, worker].filter((c) => c).map((c) => [c!.name, round(sampleProcess(c!.pid)?.rssMiB ?? 0)]),
  );

/**
 * Sums a Prometheus counter's samples by a key made of their labels (`key` returns undefined to
 * leave a sample out).
 */
function counterBy(
  text: string,
  metric: string,
  key: (label: (name: string) => string) => string | undefined,
) {
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const k = key((name) => new RegExp(`[{,]${name}="([^"]*)"`).exec(line)?.[1] ?? '');
    if (k !== undefined) counts.set(k, (counts.get(k) ?? 0) + Number(line.split(' ').pop()));
  }
  return counts;
}

/**
 * BENCH_APISERVER_PROF=<file>: kube-apiserver's Go CPU profile of the burst's first
 * BENCH_APISERVER_PROF_SECONDS (40), through the API (`--profiling`, on by default), for
 * `go tool pprof -top <file>`. The profile request itself costs the server almost nothing.
 */
function profileApiserver(): Promise<void> {
  const file = process.env.BENCH_APISERVER_PROF;
  if (!file) return Promise.resolve();
  const seconds = num('BENCH_APISERVER_PROF_SECONDS', 40);
  return new Promise((resolve) => {
    execFile(
      resolveBinary('kubectl'),
      ['get', '--raw', `/debug/pprof/profile?seconds=${seconds}`],
      {
        env: { ...process.env, KUBECONFIG: env.kubeconfigPath },
        encoding: 'buffer',
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout) => {
        if (err) log(`apiserver profile failed: ${err.message}`);
        else {
          writeFileSync(file, stdout);
          log(`apiserver CPU profile (${seconds} s) in ${file}`);
        }
        resolve();
      },
    );
  });
}

/** apiserver_request_total by "VERB resource[/subresource]", excluding WATCH (long-lived) requests. */
function apiRequests(): Map<string, number> {
  const text = execFileSync(resolveBinary('kubectl'), ['get', '--raw', '/metrics'], {
    env: { ...process.env, KUBECONFIG: env.kubeconfigPath },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  return counterBy(text, 'apiserver_request_total', (label) => {
    if (label('verb') === 'WATCH') return undefined;
    const sub = label('subresource');
    return `${label('verb')} ${label('resource')}${sub ? `/${sub}` : ''}`;
  });
}

/**
 * The Temporal dev server's work: requests its frontend served (by operation; what the controller
 * and worker asked) and the persistence operations all its services made (each a SQLite
 * transaction). Empty with an external server.
 */
async function temporalRequests(): Promise<{
  frontend: Map<string, number>;
  persistence: Map<string, number>;
}> {
  if (!env.temporalMetricsUrl) return { frontend: new Map(), persistence: new Map() };
  const text = await (await fetch(env.temporalMetricsUrl)).text();
  return {
    frontend: counterBy(text, 'service_requests', (label) =>
      label('service_name') === 'frontend' ? label('operation') : undefined,
    ),
    persistence: counterBy(
      text,
      'persistence_requests',
      (label) => `${label('service_name')} ${label('operation')}`,
    ),
  };
}

/** Requests between two apiRequests() readings per reconcile: in all, and by kind (largest first). */
function requestsPerReconcile(before: Map<string, number>, after: Map<string, number>, n: number) {
  const deltas = [...after].map(([k, v]) => [k, (v - (before.get(k) ?? 0)) / n] as const);
  return {
    total: round(
      deltas.reduce((sum, [, v]) => sum + v, 0),
      1,
    ),
    byKind: deltas
      .filter(([, v]) => v >= 0.05)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => [k, round(v, 2)] as const),
  };
}

const create = (name: string) =>
  co.createNamespacedCustomObject({
    ...coords,
    body: { apiVersion: `${api.group}/${api.version}`, kind: api.kind, metadata: { name }, spec: { name } },
  });

/** Creates `names` with at most `parallel` requests in flight; returns each one's creation time. */
async function createAll(names: string[], parallel = 64): Promise<Map<string, number>> {
  const created = new Map<string, number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, names.length) }, async () => {
      while (next < names.length) {
        const name = names[next++]!;
        created.set(name, Date.now());
        await create(name);
      }
    }),
  );
  return created;
}

const watch = new CompletionWatch(kc, `/apis/${api.group}/${api.version}/namespaces/default/${api.plural}`);
const lifecycleId = async (name: string) => {
  const o = (await co.getNamespacedCustomObject({ ...coords, name })) as KubeObject;
  return resourceWorkflowId({ promise: api.promise, namespace: 'default', name, uid: o.metadata.uid! });
};
let total = 0; // Resources the system holds

/** Writes what is measured so far: a long run that is stopped keeps its finished phases. */
function save(): void {
  mkdirSync(path.dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
}

try {
  await startComponents();
  // The controller installs the platform CRDs as it starts.
  await waitFor('platform CRDs', () => ensureDefaultStateStore(kube, dir).then(() => true), {
    timeoutMs: 120_000,
  });
  await co.createClusterCustomObject({
    group: 'platform.kratix.io',
    version: 'v1alpha1',
    plural: 'promises',
    body: promiseFor(api, { workflows: { resource: { configure: [shPipeline('trivial', { c: SCRIPT })] } } }),
  });
  await waitFor(
    'Promise available',
    async () => {
      const p = (await co.getClusterCustomObject({
        group: 'platform.kratix.io',
        version: 'v1alpha1',
        plural: 'promises',
        name: api.promise,
      })) as KubeObject;
      const ok = (p.status?.conditions as Condition[] | undefined)?.some(
        (c) => c.type === 'Available' && c.status === 'True',
      );
      return ok ? true : undefined;
    },
    { timeoutMs: 120_000 },
  );
  await watch.start();
  await sleep(2000); // the controller's watch of the new kind settles

  if (PHASES.has('latency')) {
    log(`latency: ${LATENCY_RUNS} runs each, one at a time, alternating with the straight script`);
    const scriptRepo = path.join(dir, 'script.git');
    execFileSync('git', ['init', '-q', '--bare', '--initial-branch=main', scriptRepo]);
    const script = new StraightScript(
      co,
      { ...coords, plural: 'scripts', kind: 'Script' },
      ['sh', '-ec', SCRIPT],
      `file://${scriptRepo}`,
      path.join(dir, 'script'),
    );
    await co
      .createClusterCustomObject({
        group: 'apiextensions.k8s.io',
        version: 'v1',
        plural: 'customresourcedefinitions',
        body: scriptCrd(),
      })
      .catch(() => undefined);
    await sleep(2000);
    await script.prepare();
    const ours: number[] = [];
    const theirs: number[] = [];
    const samples: { name: string; created: number; done: number }[] = [];
    const warmup = 3;
    for (let i = 0; i < LATENCY_RUNS + warmup; i++) {
      const s = await script.reconcile(`s${i}`);
      const name = `l${i}`;
      const t0 = Date.now();
      await create(name);
      await watch.waitFor([name], 60_000);
      const t = watch.done.get(name)! - t0;
      if (i >= warmup) {
        ours.push(t);
        theirs.push(s);
        samples.push({ name, created: t0, done: watch.done.get(name)! });
      }
    }
    total += LATENCY_RUNS + warmup;
    const sortedOurs = [...ours].sort((a, b) => a - b);
    const sortedTheirs = [...theirs].sort((a, b) => a - b);
    const p50 = percentile(sortedOurs, 50);
    const s50 = percentile(sortedTheirs, 50);
    // The run whose latency is the median: its history says where the time goes.
    const median = samples[ours.indexOf(p50)]!;
    const id = await lifecycleId(median.name);
    const breakdown = await runPhases(client, id, median.created, median.done);
    result.latency = {
      runs: LATENCY_RUNS,
      ms: { p50, p95: percentile(sortedOurs, 95), max: sortedOurs.at(-1) },
      scriptMs: {
        p50: round(s50),
        p95: round(percentile(sortedTheirs, 95)),
        max: round(sortedTheirs.at(-1)!),
      },
      ratioP50: round(p50 / s50, 2),
      breakdown,
    };
    save();
  }

  if (PHASES.has('throughput')) {
    log(`throughput: ${THROUGHPUT} Resources created at once`);
    const names = Array.from({ length: THROUGHPUT }, (_, i) => `t${i}`);
    const requestsBefore = apiRequests();
    const temporalBefore = await temporalRequests();
    const pushes = () => metricValue(worker!.metricsUrl, 'kratix_state_store_batch_writes_count');
    const pushesBefore = await pushes();
    const eventsBefore = (await core.listNamespacedEvent({ namespace: 'default' })).items.length;
    const cpu = new CpuMeter(pids, WHOLE);
    cpu.start();
    const apiserverProfile = profileApiserver();
    const t0 = Date.now();
    const created = await createAll(names);
    await watch.waitFor(names, 30 * 60_000);
    const wall = Date.now() - t0;
    const usage = cpu.stop();
    await apiserverProfile;
    await sleep(1000);
    const requests = requestsPerReconcile(requestsBefore, apiRequests(), THROUGHPUT);
    const temporalAfter = await temporalRequests();
    const gitPushes = (await pushes()) - pushesBefore;
    const frontend = requestsPerReconcile(temporalBefore.frontend, temporalAfter.frontend, THROUGHPUT);
    const persistence = requestsPerReconcile(
      temporalBefore.persistence,
      temporalAfter.persistence,
      THROUGHPUT,
    );
    const events = (await core.listNamespacedEvent({ namespace: 'default' })).items.length - eventsBefore;
    const lat = names.map((n) => watch.done.get(n)! - created.get(n)!).sort((a, b) => a - b);
    total += THROUGHPUT;
    result.throughput = {
      resources: THROUGHPUT,
      seconds: round(wall / 1000, 1),
      perSecond: round(THROUGHPUT / (wall / 1000), 1),
      latencyMs: { p50: percentile(lat, 50), p95: percentile(lat, 95), max: lat.at(-1) },
      apiRequestsPerReconcile: requests.total,
      // The bench's own create is one POST per Resource.
      apiRequestsByKind: Object.fromEntries(requests.byKind),
      eventsPerResource: round(events / THROUGHPUT, 2),
      gitPushesPerReconcile: round(gitPushes / THROUGHPUT, 3),
      temporalRequestsPerReconcile: frontend.total,
      temporalRequestsByOperation: Object.fromEntries(frontend.byKind),
      temporalPersistencePerReconcile: persistence.total,
      temporalPersistenceByOperation: Object.fromEntries(persistence.byKind),
      cpuSeconds: usage.cpuSeconds,
      startedCpuSeconds: usage.startedCpuSeconds,
      machine: usage.machine,
      rssMiB: rss(),
    };
    save();
  }

  if (PHASES.has('idle') || PHASES.has('restart')) {
    const more = Math.max(0, SCALE - total);
    log(`scale: ${more} more Resources, to ${SCALE}`);
    const names = Array.from({ length: more }, (_, i) => `x${i}`);
    const t0 = Date.now();
    await createAll(names);
    await watch.waitFor(names, 60 * 60_000);
    total += more;
    result.scale = { resources: total, fillSeconds: round((Date.now() - t0) / 1000, 1) };
    save();
  }

  if (PHASES.has('idle')) {
    log(`idle: ${total} completed Resources, ${IDLE_SECONDS} s`);
    await sleep(10_000); // let the last runs' stragglers (events, caches) settle
    const cpu = new CpuMeter(pids, WHOLE);
    cpu.start();
    await sleep(IDLE_SECONDS * 1000);
    const usage = cpu.stop();
    const id = await lifecycleId('x0').catch(() => lifecycleId('t0'));
    const lifecycleEvents = (await client.workflow.getHandle(id).fetchHistory()).events?.length ?? 0;
    result.idle = {
      resources: total,
      seconds: usage.seconds,
      cpuPercentOfOneCore: Object.fromEntries(
        Object.entries(usage.cpuSeconds).map(([n, s]) => [n, round((s / usage.seconds) * 100, 1)]),
      ),
      rssMiB: rss(),
      lifecycleHistoryEvents: lifecycleEvents,
    };
    save();
  }

  if (PHASES.has('restart')) {
    log(`restart: controller and worker over ${total} Resources`);
    await Promise.all([controller!.stop(), worker!.stop()]);
    controller = worker = undefined;
    const t0 = Date.now();
    await startComponents();
    const started = Date.now();
    // A Resource created right after the restart: the system is live again once it completes.
    await create('after-restart');
    await watch.waitFor(['after-restart'], 10 * 60_000);
    const probeDone = Date.now();
    // Caught up: the controller handled every object it listed and its queue is empty.
    await waitFor(
      'controller caught up',
      async () => {
        const seen = await metricValue(
          controller!.metricsUrl,
          'kratix_controller_watch_events_total',
          'kind="Bench"',
        );
        const depth = await metricValue(controller!.metricsUrl, 'kratix_controller_queue_depth');
        return seen >= total && depth === 0 ? true : undefined;
      },
      { timeoutMs: 30 * 60_000, intervalMs: 250 },
    );
    const caughtUp = Date.now();
    await sleep(15_000); // anything the restart would re-run shows up in this window
    const runs = await metricValue(worker!.metricsUrl, 'kratix_pipeline_runs_total');
    result.restart = {
      resources: total,
      processesStartSeconds: round((started - t0) / 1000, 1),
      caughtUpSeconds: round((Math.max(caughtUp, probeDone) - t0) / 1000, 1),
      newResourceCompletedSeconds: round((probeDone - t0) / 1000, 1),
      pipelineReRuns: runs - 1, // the probe's own run is not a re-run
      rssMiB: rss(),
    };
  }
} finally {
  watch.stop();
  await Promise.all([controller?.stop(), worker?.stop()]);
  await connection.close();
  kube.close();
  await env.stop();
  rmSync(dir, { recursive: true, force: true });
}

result.finishedAt = new Date().toISOString();
save();
printTable(result);
console.log(`\nJSON: ${OUT}`);

function scriptCrd() {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `scripts.${api.group}` },
    spec: {
      group: api.group,
      scope: 'Namespaced',
      names: { plural: 'scripts', singular: 'script', kind: 'Script' },
      versions: [
        {
          name: api.version,
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          },
        },
      ],
    },
  };
}

function printTable(r: BenchResult): void {
  const rows: [string, string][] = [];
  const l = r.latency;
  if (l) {
    rows.push(['latency p50 / p95 (one at a time)', `${l.ms.p50} / ${l.ms.p95} ms`]);
    rows.push(['straight script p50 / p95', `${l.scriptMs.p50} / ${l.scriptMs.p95} ms`]);
    rows.push(['ratio (p50)', `${l.ratioP50}x`]);
    for (const p of l.breakdown.phases) rows.push([`  ${p.phase}`, `${p.ms} ms`]);
    rows.push(['history events (lifecycle, its first run inside)', String(l.breakdown.lifecycleEvents)]);
  }
  const t = r.throughput;
  if (t) {
    rows.push([`${t.resources} at once: all completed in`, `${t.seconds} s (${t.perSecond}/s)`]);
    rows.push(['  latency p50 / p95', `${t.latencyMs.p50} / ${t.latencyMs.p95} ms`]);
    rows.push(['  API requests per reconcile', String(t.apiRequestsPerReconcile)]);
    rows.push([
      '    by verb and resource',
      Object.entries(t.apiRequestsByKind)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    ]);
    rows.push(['  Events per Resource', String(t.eventsPerResource)]);
    rows.push([
      '  git pushes per reconcile',
      `${t.gitPushesPerReconcile} (${round(1 / t.gitPushesPerReconcile, 1)} runs' output per push)`,
    ]);
    rows.push(['  Temporal requests per reconcile', String(t.temporalRequestsPerReconcile)]);
    rows.push(['    by operation', fmt(t.temporalRequestsByOperation)]);
    rows.push(['  Temporal persistence operations per reconcile', String(t.temporalPersistencePerReconcile)]);
    rows.push(['    by operation', fmt(t.temporalPersistenceByOperation)]);
    const cpuTotal = Object.values(t.cpuSeconds).reduce((a, b) => a + b, 0);
    rows.push(['  CPU seconds', `${round(cpuTotal, 1)}: ${fmt(t.cpuSeconds)}`]);
    rows.push(['    of which processes they started', fmt(t.startedCpuSeconds)]);
    rows.push([
      '  machine CPU busy / stolen',
      `${t.machine.busyPercent} % / ${t.machine.stealPercent} % (steal: the VM's host ran others)`,
    ]);
    rows.push(['  RSS MiB', fmt(t.rssMiB)]);
  }
  const s = r.scale;
  if (s) rows.push([`filled to ${s.resources}`, `${s.fillSeconds} s`]);
  const i = r.idle;
  if (i) {
    rows.push([`idle, ${i.resources} Resources: CPU % of one core`, fmt(i.cpuPercentOfOneCore)]);
    rows.push(['  RSS MiB', fmt(i.rssMiB)]);
    rows.push(['  lifecycle history events', String(i.lifecycleHistoryEvents)]);
  }
  const re = r.restart;
  if (re) {
    rows.push([`restart over ${re.resources}: caught up in`, `${re.caughtUpSeconds} s`]);
    rows.push(['  new Resource completed after', `${re.newResourceCompletedSeconds} s`]);
    rows.push(['  pipeline re-runs', String(re.pipelineReRuns)]);
  }
  const w = Math.max(...rows.map(([k]) => k.length));
  console.log(`\n${'figure'.padEnd(w)}  value\n${'-'.repeat(w)}  -----`);
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
}

function fmt(o: Record<string, number>): string {
  return Object.entries(o)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}
