import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { RepeatLimitedLogger } from './temporal/repeat-limited-logger.js';
import { createActivities } from '../activities/index.js';
import { TASK_QUEUE } from './core/constants.js';
import { KubernetesExecutor } from './executors/kubernetes.js';
import { LocalExecutor } from './executors/local.js';
import { PIPELINE_HELPER_IMAGE } from './pipeline-helper/image.js';
import type { PipelineExecutor } from './executors/types.js';
import { resolveBinary } from './infra/binaries.js';
import { Kube } from './kube/client.js';
import { ReadCache } from './kube/read-cache.js';
import { StateStoreWriters } from './statestore/writers.js';
import {
  connectTemporalWorker,
  temporalDataConverter,
  type TemporalConnectionConfig,
} from './temporal/connection.js';
import {
  selectWorkflowBundle,
  untracedBundlePath,
  workerTracing,
  workflowTracingModule,
} from './temporal/tracing.js';
import { tracingEnabled } from './tracing.js';
import path from 'node:path';

export interface WorkerOptions {
  kubeconfig?: string;
  /** Where and how to reach Temporal (src/temporal/connection.ts). */
  temporal: TemporalConnectionConfig;
  /** Pipeline run directories. */
  workDir: string;
  /** `kubernetes` (Pods; the default) or `local` (host processes, for development), or an instance. */
  executor?: ExecutorName | PipelineExecutor;
  /** The image of the kubernetes executor's helper containers (default: PIPELINE_HELPER_IMAGE). */
  helperImage?: string;
  taskQueue?: string;
  /** A workflow bundle built by `kratix-temporal bundle` (starts in ~1 s instead of bundling). */
  workflowBundlePath?: string;
  /**
   * Serve the Temporal SDK's own metrics (task latencies, slots, polls, sticky cache) in Prometheus
   * format on this "host:port". Configures the process-wide SDK runtime, so it must be the first
   * Temporal worker or connection of the process (true for the `worker` command).
   */
  temporalMetricsAddress?: string;
  /**
   * Workflows kept in memory between their tasks (default 300, env KRATIX_MAX_CACHED_WORKFLOWS).
   * Every Resource has a lifecycle workflow that sleeps on a timer for hours; the SDK's default
   * (sized by heap) kept them all, and an idle worker with 1,500 Resources held 1.2 GiB. An evicted
   * workflow is replayed from its short history when its next task comes. 300 holds the runs the
   * controller admits at once (KRATIX_MAX_NEW_RUNS, 128: a lifecycle and a configure run each).
   */
  maxCachedWorkflows?: number;
}

/** Workflow sources: the .ts files when running from source (tsx, jest), the .js build otherwise. */
export function workflowsPath(): string {
  const ts = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
  return existsSync(ts) ? ts : fileURLToPath(new URL('../workflows/index.js', import.meta.url));
}

export type ExecutorName = 'kubernetes' | 'local';
export const EXECUTORS: ExecutorName[] = ['kubernetes', 'local'];

function makeExecutor(kube: Kube, opts: WorkerOptions): PipelineExecutor {
  const choice = opts.executor ?? 'kubernetes';
  if (typeof choice !== 'string') return choice;
  if (choice === 'kubernetes')
    return new KubernetesExecutor(kube, { helperImage: opts.helperImage ?? PIPELINE_HELPER_IMAGE });
  let kubectl: string | undefined;
  try {
    kubectl = resolveBinary('kubectl');
  } catch {
    kubectl = undefined; // pipelines then use whatever kubectl the host has
  }
  return new LocalExecutor(kube, { kubectl });
}

let runtimeInstalled = false;

/** A worker on the `kratix` task queue hosting the workflows and every activity. */
export async function createWorker(
  opts: WorkerOptions,
): Promise<{ worker: Worker; close: () => Promise<void> }> {
  // Once per process (the Runtime is global): identical log lines of a stuck object's retries are
  // let through once a minute, with how many were dropped.
  if (!runtimeInstalled) {
    try {
      Runtime.install({
        logger: new RepeatLimitedLogger(),
        ...(opts.temporalMetricsAddress
          ? { telemetryOptions: { metrics: { prometheus: { bindAddress: opts.temporalMetricsAddress } } } }
          : {}),
      });
    } catch (err) {
      // A Runtime already created in this process (e.g. by an earlier client) keeps its logger.
      if (opts.temporalMetricsAddress) throw err;
    }
    runtimeInstalled = true;
  }
  // Keys are read before connecting: a bad key setting fails the start with its own message.
  const cachedWorkflows = opts.maxCachedWorkflows ?? Number(process.env.KRATIX_MAX_CACHED_WORKFLOWS ?? 300);
  const dataConverter = temporalDataConverter(opts.temporal);
  const connection = await connectTemporalWorker(opts.temporal);
  const kube = Kube.fromFile(opts.kubeconfig);
  // Promises, Destinations and state stores from watches: every run reads them, few change.
  kube.reads = new ReadCache(kube);
  await kube.reads.start();
  const stateStores = new StateStoreWriters(kube, path.join(opts.workDir, 'git-cache'));
  try {
    const worker = await Worker.create({
      connection,
      namespace: opts.temporal.namespace,
      taskQueue: opts.taskQueue ?? TASK_QUEUE,
      dataConverter,
      ...(opts.workflowBundlePath
        ? {
            workflowBundle: {
              codePath: selectWorkflowBundle(opts.workflowBundlePath, tracingEnabled(), existsSync),
            },
          }
        : { workflowsPath: workflowsPath() }),
      maxCachedWorkflows: cachedWorkflows,
      // A pipeline's local attempt holds its workflow task for up to the executor's hand-over
      // time (configure-run.ts): as many tasks as activities may be in flight, not the SDK's 40,
      // or a burst runs 40 pipelines at a time (1,000 at once: 80 s instead of 45-55 s).
      maxConcurrentWorkflowTaskExecutions: workflowTaskSlots(cachedWorkflows),
      // Heartbeats reach the server at least every 2 s, so a cancelled pipeline (delete during
      // configure) notices within seconds instead of 0.8 x heartbeatTimeout.
      maxHeartbeatThrottleInterval: '2 seconds',
      defaultHeartbeatThrottleInterval: '2 seconds',
      // OpenTelemetry interceptors and the workflow span sink (no-ops unless tracing is on).
      ...workerTracing({ prebuiltBundle: !!opts.workflowBundlePath }),
      activities: createActivities({
        kube,
        executor: makeExecutor(kube, opts),
        workDir: opts.workDir,
        stateStores,
        temporal: opts.temporal,
      }),
    });
    return {
      worker,
      close: async () => {
        stateStores.close();
        await kube.reads?.stop();
        kube.close();
        await connection.close();
      },
    };
  } catch (err) {
    await kube.reads.stop();
    await connection.close();
    throw err;
  }
}

/**
 * Bundles the workflow code once (what a worker otherwise does at every start, ~5-10 s on a busy
 * machine): for images, and for test runs that restart workers. Writes two files: `file` with the
 * OpenTelemetry workflow interceptors, and its untraced twin (`untracedBundlePath`), which a
 * worker with tracing off runs instead.
 */
export async function writeWorkflowBundle(file: string): Promise<void> {
  mkdirSync(path.dirname(file), { recursive: true });
  for (const [out, modules] of [
    [file, [workflowTracingModule()]],
    [untracedBundlePath(file), []],
  ] as const) {
    const { code } = await bundleWorkflowCode({
      workflowsPath: workflowsPath(),
      workflowInterceptorModules: [...modules],
      logger: new DefaultLogger('WARN'),
    });
    writeFileSync(out, code);
  }
}

/** Workflow tasks in flight at once: 100 (the SDK's activity slots), within the workflow cache. */
export function workflowTaskSlots(cachedWorkflows: number): number {
  return cachedWorkflows > 1 ? Math.min(100, cachedWorkflows) : 100;
}
