import type { AdmissionOptions } from './controller/admission.js';
import { Client } from '@temporalio/client';
import { Controller } from './controller/controller.js';
import { StateStoreHealth } from './controller/state-stores.js';
import { DestinationEvents } from './controller/destination-events.js';
import { LeaderElection, type LeaderElectionOptions } from './controller/leader.js';
import { Kube } from './kube/client.js';
import { installPlatform } from './kube/install.js';
import { logger } from './logger.js';
import { startMetricsServer } from './metrics.js';
import {
  connectTemporalClient,
  describeTemporalConnection,
  temporalDataConverter,
  type TemporalConnectionConfig,
} from './temporal/connection.js';
import { ensureSearchAttributes } from './temporal/search-attributes.js';
import { createWorker, type ExecutorName } from './worker.js';
import { startTracing, stopTracing, type TracingOptions } from './tracing.js';
import { tracingClientInterceptors } from './temporal/tracing.js';

export interface SystemOptions {
  /** Kubeconfig file; undefined: client-node's default (in a Pod: its ServiceAccount). */
  kubeconfig: string | undefined;
  /** Where and how to reach Temporal (src/temporal/connection.ts). */
  temporal: TemporalConnectionConfig;
  workDir: string;
  runController?: boolean;
  runWorker?: boolean;
  relistIntervalMs?: number;
  /** How often state stores are checked (default 30 s). */
  stateStoreCheckIntervalMs?: number;
  /** Lease-based leader election among controllers (default on; `false` runs unconditionally). */
  leaderElection?: LeaderElectionOptions | false;
  /** Serve Prometheus metrics and /healthz on this "host:port" (port 0: any free port). */
  metricsAddress?: string;
  /** A prebuilt workflow bundle for the worker (`kratix-temporal bundle`). */
  workflowBundlePath?: string;
  /** Serve the Temporal SDK's worker metrics here (see WorkerOptions.temporalMetricsAddress). */
  temporalMetricsAddress?: string;
  /** How the worker runs pipelines (default kubernetes). */
  executor?: ExecutorName;
  helperImage?: string;
  /** OTLP trace export; default: on when OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set. */
  tracing?: TracingOptions;
  /** The controller's admission of new objects' first runs (default: KRATIX_MAX_NEW_RUNS, 60 s). */
  admission?: AdmissionOptions;
}

export interface RunningSystem {
  stop(): Promise<void>;
  /** Rejects if the worker stops on its own (a fatal error). */
  done: Promise<void>;
  /** Where metrics are served, if they are. */
  metricsUrl?: string;
}

/** The controller and/or a worker against one cluster and one Temporal namespace. */
export async function startSystem(opts: SystemOptions): Promise<RunningSystem> {
  const kube = Kube.fromFile(opts.kubeconfig);
  const stops: (() => Promise<void>)[] = [];
  let done: Promise<void> = new Promise(() => {});
  let metricsUrl: string | undefined;
  logger.info({ temporal: describeTemporalConnection(opts.temporal) }, 'Temporal connection');
  const component =
    opts.runController === false ? 'worker' : opts.runWorker === false ? 'controller' : undefined;
  const serviceName = component ? `kratix-temporal-${component}` : 'kratix-temporal';
  if (startTracing({ serviceName, ...opts.tracing })) {
    logger.info('tracing: exporting spans over OTLP');
    stops.push(() => stopTracing());
  }
  try {
    if (opts.metricsAddress !== undefined) {
      const server = await startMetricsServer(opts.metricsAddress);
      metricsUrl = server.url;
      stops.push(() => server.close());
    }
    if (opts.runWorker !== false) {
      // A worker alone (its own Deployment) may be upgraded before the controller: it runs code that
      // sets search attributes the controller registers at its start. Register them here too, when
      // allowed; if not, the workflow tasks that set them retry until the controller has.
      if (opts.runController === false) await registerSearchAttributesIfAllowed(opts.temporal);
      const { worker, close } = await createWorker({
        kubeconfig: opts.kubeconfig,
        temporal: opts.temporal,
        workDir: opts.workDir,
        workflowBundlePath: opts.workflowBundlePath,
        temporalMetricsAddress: opts.temporalMetricsAddress,
        executor: opts.executor,
        helperImage: opts.helperImage,
      });
      const running = worker.run();
      done = running;
      stops.push(async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running.catch((err: unknown) =>
          logger.warn({ err: String(err) }, 'worker stopped with an error'),
        );
        await close();
      });
    }
    if (opts.runController !== false) {
      await installPlatform(kube);
      const connection = await connectTemporalClient(opts.temporal);
      const namespace = opts.temporal.namespace;
      try {
        const added = await ensureSearchAttributes(connection, namespace);
        if (added.length) logger.info({ namespace, added }, 'registered search attributes');
      } catch (err) {
        await connection.close();
        throw err;
      }
      const client = new Client({
        connection,
        namespace,
        interceptors: tracingClientInterceptors(),
        dataConverter: temporalDataConverter(opts.temporal),
      });
      let active: { stop(): Promise<void> } | undefined;
      /** Set when the system stops: leadership won after that (or during a start) acts no more. */
      let stopping = false;
      const lead = async () => {
        if (stopping) return;
        const controller = new Controller({
          kube,
          client,
          relistIntervalMs: opts.relistIntervalMs,
          ...(opts.admission ? { admission: opts.admission } : {}),
        });
        const health = new StateStoreHealth(
          kube,
          opts.stateStoreCheckIntervalMs ?? 30_000,
          opts.relistIntervalMs ?? 5 * 60_000,
        );
        const destinations = new DestinationEvents(kube, client, opts.relistIntervalMs ?? 5 * 60_000);
        const mine = {
          async stop() {
            await destinations.stop();
            await health.stop();
            await controller.stop();
          },
        };
        active = mine;
        await controller.start();
        await health.start();
        await destinations.start();
        // Stopped while starting: what started after the stop is stopped now (stops are idempotent).
        if (stopping) await mine.stop();
      };
      const follow = async () => {
        await active?.stop();
        active = undefined;
      };
      if (opts.leaderElection === false) {
        await lead();
        stops.push(async () => {
          stopping = true;
          await follow();
          await connection.close();
        });
      } else {
        const election = new LeaderElection(kube, opts.leaderElection ?? {});
        election.start(lead, follow);
        stops.push(async () => {
          // Stop acting first, then hand the lease over.
          stopping = true;
          await follow();
          await election.stop();
          await connection.close();
        });
      }
    }
  } catch (err) {
    for (const s of stops.reverse()) await s();
    throw err;
  }
  return {
    done,
    metricsUrl,
    async stop() {
      for (const s of [...stops].reverse()) await s();
      kube.close();
    },
  };
}

/** Best effort: a worker's Temporal identity may lack operator permissions, which is fine. */
async function registerSearchAttributesIfAllowed(temporal: TemporalConnectionConfig): Promise<void> {
  const namespace = temporal.namespace;
  try {
    const connection = await connectTemporalClient(temporal);
    try {
      const added = await ensureSearchAttributes(connection, namespace);
      if (added.length) logger.info({ namespace, added }, 'registered search attributes');
    } finally {
      await connection.close();
    }
  } catch (err) {
    logger.warn(
      { namespace, err: (err as Error).message },
      'could not check the search attributes; the controller registers them at its start',
    );
  }
}
