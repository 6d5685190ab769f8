import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { startControlPlane, type ControlPlane } from './control-plane.js';
import { startNode, readNodeState, type RunningNode } from './node.js';
import { isAlive } from './node-host.js';
import { importImage } from './oci-image.js';
import { startTemporalServer, type TemporalServer } from './temporal-server.js';
import { plainTemporalConnection, type TemporalConnectionConfig } from '../temporal/connection.js';

export interface DevEnvironmentOptions {
  dir: string;
  /** Use this cluster instead of starting etcd + kube-apiserver. */
  kubeconfig?: string;
  /** Use this Temporal server instead of starting the dev server. */
  temporal?: TemporalConnectionConfig;
  /** The dev server's namespace (default `default`). */
  temporalNamespace?: string;
  /** Keep etcd data and Temporal state (SQLite) in `dir` across restarts. */
  persist?: boolean;
  /** Also run a real node (kubelet + containerd, see node.ts) in `<dir>/node`; needs root. */
  node?: boolean;
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
  /** Present with `node`. */
  node?: RunningNode;
  stop(): Promise<void>;
}

/** Where `startDevEnvironment` keeps the node's state. */
export const devNodeDir = (dir: string) => path.join(dir, 'node');

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
      : startTemporalServer({
          dir: path.join(opts.dir, 'temporal'),
          dbFile: opts.persist ? 'temporal.sqlite' : undefined,
          namespace: opts.temporalNamespace,
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
