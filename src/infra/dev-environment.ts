import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { startControlPlane, type ControlPlane } from './control-plane.js';
import { startTemporalServer, type TemporalServer } from './temporal-server.js';

export interface DevEnvironmentOptions {
  dir: string;
  /** Use this cluster instead of starting etcd + kube-apiserver. */
  kubeconfig?: string;
  /** Use this Temporal server instead of starting the dev server. */
  temporalAddress?: string;
  temporalNamespace?: string;
  /** Keep etcd data and Temporal state (SQLite) in `dir` across restarts. */
  persist?: boolean;
  onCrash?: (name: string, code: number | null) => void;
}

export interface DevEnvironment {
  kubeconfigPath: string;
  temporalAddress: string;
  temporalNamespace: string;
  /** Undefined when an external Temporal server is used. */
  uiUrl?: string;
  stop(): Promise<void>;
}

/** The local control plane and Temporal, shared by `kratix-temporal dev` and the test harness. */
export async function startDevEnvironment(opts: DevEnvironmentOptions): Promise<DevEnvironment> {
  mkdirSync(opts.dir, { recursive: true });
  let cp: ControlPlane | undefined;
  let temporal: TemporalServer | undefined;
  const stop = async () => {
    await Promise.all([cp?.stop(), temporal?.stop()]);
  };
  // allSettled: if one fails to start, the other is still stopped.
  const [cpResult, temporalResult] = await Promise.allSettled([
    opts.kubeconfig
      ? undefined
      : startControlPlane({
          dir: path.join(opts.dir, 'control-plane'),
          kubeconfigPath: path.join(opts.dir, 'kubeconfig'),
          keepData: opts.persist,
          onCrash: opts.onCrash,
        }),
    opts.temporalAddress
      ? undefined
      : startTemporalServer({
          dir: path.join(opts.dir, 'temporal'),
          dbFile: opts.persist ? 'temporal.sqlite' : undefined,
          namespace: opts.temporalNamespace,
          onCrash: opts.onCrash,
        }),
  ]);
  if (cpResult.status === 'fulfilled') cp = cpResult.value;
  if (temporalResult.status === 'fulfilled') temporal = temporalResult.value;
  for (const r of [cpResult, temporalResult]) {
    if (r.status === 'rejected') {
      await stop();
      throw r.reason;
    }
  }
  return {
    kubeconfigPath: opts.kubeconfig ?? cp!.kubeconfigPath,
    temporalAddress: opts.temporalAddress ?? temporal!.address,
    temporalNamespace: opts.temporalNamespace ?? temporal?.namespace ?? 'default',
    uiUrl: temporal?.uiUrl,
    stop,
  };
}
