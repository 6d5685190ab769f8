import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startControlPlane, type ControlPlane } from './control-plane.js';
import { startNode, readNodeState, type RunningNode } from './node.js';
import { isAlive } from './node-host.js';
import { importImage } from './oci-image.js';
import { startTemporalServer, type TemporalPorts, type TemporalServer } from './temporal-server.js';
import { logger } from '../logger.js';
import { plainTemporalConnection, type TemporalConnectionConfig } from '../temporal/connection.js';

export interface DevEnvironmentOptions {
  dir: string;
  /** Use this cluster instead of starting etcd + kube-apiserver. */
  kubeconfig?: string;
  /** Use this Temporal server instead of starting the dev server. */
  temporal?: TemporalConnectionConfig;
  /**
   * Start a Temporal server that dies again, with its state (kept in a SQLite file even without
   * `persist`): `dev` carries on instead of stopping. Tests and benchmarks keep the in-memory one.
   */
  restartTemporal?: boolean;
  /** The dev server's namespace (default `default`). */
  temporalNamespace?: string;
  /** Keep etcd data and Temporal state (SQLite) in `dir` across restarts. */
  persist?: boolean;
  /** Also run a real node (kubelet + containerd, see node.ts) in `<dir>/node`; needs root. */
  node?: boolean;
  /** The dev server's Web UI decodes payloads with this codec endpoint (`dev --encrypt-payloads`). */
  uiCodecEndpoint?: string;
  onCrash?: (name: string, code: number | null) => void;
}

export interface DevEnvironment {
  kubeconfigPath: string;
  /** How to reach Temporal: the dev server (plaintext, loopback) or the given one. */
  temporal: TemporalConnectionConfig;
  temporalAddress: string;
  temporalNamespace: string;
  /** Undefined when an external Temporal server is used. */
  uiUrl?: string;
  /** The dev server's Prometheus metrics (requests by operation); undefined with an external server. */
  temporalMetricsUrl?: string;
  /** Present with `node`. */
  node?: RunningNode;
  stop(): Promise<void>;
}

/** Where `startDevEnvironment` keeps the node's state. */
export const devNodeDir = (dir: string) => path.join(dir, 'node');

/** Restarts of a crashed Temporal server within this window count towards giving up. */
const TEMPORAL_CRASH_WINDOW_MS = 60_000;
const TEMPORAL_MAX_CRASHES = 3;

/**
 * The Temporal dev server of `dev`: its state lives in a SQLite file (removed at start unless
 * `persist`), so when the server dies it is started again on the same ports with the same state,
 * and the controller, worker and running pipelines carry on (they reconnect). Only a server that
 * keeps crashing is reported to `onCrash`.
 */
async function startRestartingTemporal(
  opts: DevEnvironmentOptions,
  current: (t: TemporalServer) => void,
): Promise<TemporalServer> {
  const dir = path.join(opts.dir, 'temporal');
  const dbFile = 'temporal.sqlite';
  if (!opts.persist)
    for (const f of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`]) rmSync(path.join(dir, f), { force: true });
  const crashes: number[] = [];
  let stopped = false;
  const start = (ports?: TemporalPorts): Promise<TemporalServer> =>
    startTemporalServer({
      dir,
      dbFile,
      namespace: opts.temporalNamespace,
      uiCodecEndpoint: opts.uiCodecEndpoint,
      ...(ports ? { ports } : {}),
      onCrash: (name, code) => {
        if (stopped) return;
        const now = Date.now();
        crashes.push(now);
        while (crashes[0]! < now - TEMPORAL_CRASH_WINDOW_MS) crashes.shift();
        if (crashes.length >= TEMPORAL_MAX_CRASHES) return opts.onCrash?.(name, code);
        logger.warn(
          { code, restarts: crashes.length },
          'Temporal server exited; starting it again with its state',
        );
        start(ports ?? first.ports).then(track, (err: unknown) => {
          logger.error({ err: String(err) }, 'could not restart the Temporal server');
          opts.onCrash?.(name, code);
        });
      },
    });
  const track = (t: TemporalServer) => {
    current(wrapped(t));
    return t;
  };
  const wrapped = (t: TemporalServer): TemporalServer => ({
    ...t,
    stop: async () => {
      stopped = true;
      await t.stop();
    },
  });
  const first = await start();
  return wrapped(first);
}

/** The local control plane and Temporal, shared by `kratix-temporal dev` and the test harness. */
export async function startDevEnvironment(opts: DevEnvironmentOptions): Promise<DevEnvironment> {
  mkdirSync(opts.dir, { recursive: true });
  if (opts.node && opts.kubeconfig)
    throw new Error('a node needs the local control plane: drop --kubeconfig');
  let cp: ControlPlane | undefined;
  let node: RunningNode | undefined;
  let temporal: TemporalServer | undefined;
  const stop = async () => {
    // The node first: it deletes its pods through the API before the API goes away.
    try {
      await node?.stop();
    } finally {
      await Promise.all([cp?.stop(), temporal?.stop()]);
    }
  };
  const startCluster = async () => {
    if (opts.kubeconfig) return;
    cp = await startControlPlane({
      dir: path.join(opts.dir, 'control-plane'),
      kubeconfigPath: path.join(opts.dir, 'kubeconfig'),
      keepData: opts.persist,
      onCrash: opts.onCrash,
      ...(opts.node ? { node: {} } : {}),
    });
    if (opts.node)
      node = await startNode({ controlPlane: cp, dir: devNodeDir(opts.dir), onCrash: opts.onCrash });
  };
  // allSettled: if one fails to start, the other is still stopped.
  const [cpResult, temporalResult] = await Promise.allSettled([
    startCluster(),
    opts.temporal
      ? undefined
      : opts.restartTemporal
        ? startRestartingTemporal(opts, (t) => (temporal = t))
        : startTemporalServer({
            dir: path.join(opts.dir, 'temporal'),
            dbFile: opts.persist ? 'temporal.sqlite' : undefined,
            namespace: opts.temporalNamespace,
            uiCodecEndpoint: opts.uiCodecEndpoint,
            onCrash: opts.onCrash,
          }),
  ]);
  if (temporalResult.status === 'fulfilled') temporal = temporalResult.value;
  for (const r of [cpResult, temporalResult]) {
    if (r.status === 'rejected') {
      await stop();
      throw r.reason;
    }
  }
  const connection = opts.temporal ?? plainTemporalConnection(temporal!.address, temporal!.namespace);
  return {
    kubeconfigPath: opts.kubeconfig ?? cp!.kubeconfigPath,
    temporal: connection,
    temporalAddress: connection.address,
    temporalNamespace: connection.namespace,
    uiUrl: temporal?.uiUrl,
    temporalMetricsUrl: temporal && `http://127.0.0.1:${temporal.ports.metricsPort}/metrics`,
    ...(node ? { node } : {}),
    stop,
  };
}

/**
 * Imports an image archive into the node of a running `kratix-temporal dev --node` (state dir
 * `dir`), like `kind load image-archive`. Returns the node's name.
 */
export async function loadDevImage(dir: string, archive: string): Promise<string> {
  const nodeDir = devNodeDir(path.resolve(dir));
  const state = readNodeState(nodeDir);
  if (!state || !isAlive(state.pid) || !existsSync(state.containerdSocket))
    throw new Error(
      `no running dev node in ${nodeDir}: start one with 'kratix-temporal dev --node --dir ${dir}'`,
    );
  if (!existsSync(archive)) throw new Error(`${archive}: no such file`);
  await importImage(state.containerdSocket, path.resolve(archive));
  return state.nodeName;
}
