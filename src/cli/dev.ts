import path from 'node:path';
import { startDevEnvironment, type DevEnvironment } from '../infra/dev-environment.js';
import { TOOLBOX_IMAGE } from '../infra/images.js';
import { logger } from '../logger.js';
import { startSystem, type RunningSystem } from '../system.js';
import { buildPipelineHelperImage, PIPELINE_HELPER_IMAGE } from '../pipeline-helper/image.js';
import { Kube } from '../kube/client.js';
import { ensureDefaultStateStore } from '../statestore/default-store.js';
import {
  describeTemporalConnection,
  resolveTemporalConnection,
  type TemporalConnectionFlags,
} from '../temporal/connection.js';
import { startDevCodec, type DevCodec } from '../infra/dev-codec.js';

/** With `temporalAddress`, the flags say how to reach that server; without, a dev server starts. */
export interface DevOptions extends TemporalConnectionFlags {
  dir: string;
  kubeconfig?: string;
  persist: boolean;
  /** Also run a real node (kubelet + containerd) for pipeline Pods. */
  node?: boolean;
  /** Encrypt payloads (a dev key unless `payloadKeyDir`) and point the Web UI at a codec endpoint. */
  encryptPayloads?: boolean;
}

/**
 * `kratix-temporal dev`: a local control plane + Temporal dev server (unless existing ones are
 * given), then the controller and a worker. Prints `ready` when everything is usable.
 */
export async function runDev(opts: DevOptions): Promise<void> {
  const dir = path.resolve(opts.dir);
  // An existing server is reached like the controller and worker would (flags over TEMPORAL_*
  // variables); the local dev server is plaintext on loopback whatever the environment says.
  const external = opts.temporalAddress ? resolveTemporalConnection(opts) : undefined;
  const tlsFlags = [
    opts.temporalTls !== undefined && '--temporal-tls',
    opts.temporalTlsCa && '--temporal-tls-ca',
    opts.temporalTlsServerName && '--temporal-tls-server-name',
    opts.temporalTlsCert && '--temporal-tls-cert',
    opts.temporalTlsKey && '--temporal-tls-key',
    opts.temporalApiKey && '--temporal-api-key',
  ].filter(Boolean);
  if (!external && tlsFlags.length)
    throw new Error(
      `${tlsFlags.join(', ')}: only with --temporal-address (the local dev server is plaintext)`,
    );
  let shuttingDown = false;
  let system: RunningSystem | undefined;
  const started: { env?: DevEnvironment; codec?: DevCodec } = {};
  // Defined before anything starts: a child may crash while the others are still starting.
  const shutdown = async (code: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    console.log('stopping...');
    await system
      ?.stop()
      .catch((err: unknown) => logger.warn({ err: String(err) }, 'stopping controller/worker'));
    await started.env?.stop();
    await started.codec?.stop();
    process.exit(code);
  };
  // Off by default; the local dev server ignores KRATIX_TEMPORAL_PAYLOAD_KEYS like the other
  // TEMPORAL_* variables, an external server takes it as the controller and worker would.
  const encrypt = opts.encryptPayloads || !!opts.payloadKeyDir || !!external?.payloadKeys;
  const codec = encrypt
    ? await startDevCodec(dir, opts.payloadKeyDir ?? external?.payloadKeys?.path)
    : undefined;
  started.codec = codec;
  const env = await startDevEnvironment({
    uiCodecEndpoint: codec?.url,
    dir,
    kubeconfig: opts.kubeconfig,
    temporal: external,
    temporalNamespace: opts.temporalNamespace,
    persist: opts.persist,
    restartTemporal: true,
    node: opts.node,
    onCrash: (name, code) => {
      if (shuttingDown) return;
      logger.error({ name, code }, `${name} exited unexpectedly; stopping`);
      void shutdown(1);
    },
  });
  started.env = env;
  if (env.uiUrl) codec?.allowUi(env.uiUrl);
  const temporal = codec ? { ...env.temporal, payloadKeys: codec.keys } : env.temporal;
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  try {
    // With a node, pipelines run as Pods; the helper image is built locally and imported.
    if (env.node) await env.node.loadImage((await buildPipelineHelperImage()).archive);
    system = await startSystem({
      kubeconfig: env.kubeconfigPath,
      temporal,
      workDir: path.join(dir, 'runs'),
      metricsAddress: '127.0.0.1:0',
      executor: env.node ? 'kubernetes' : 'local',
      helperImage: PIPELINE_HELPER_IMAGE,
    });
  } catch (err) {
    logger.error({ err: String(err) }, 'could not start the controller and worker');
    await shutdown(1);
    return;
  }
  const { repo } = await ensureDefaultStateStore(Kube.fromFile(env.kubeconfigPath), dir);
  system.done.catch((err: unknown) => {
    logger.error({ err: String(err) }, 'worker stopped');
    void shutdown(1);
  });

  console.log(`kubeconfig: ${env.kubeconfigPath}`);
  console.log(
    `temporal:   ${external ? describeTemporalConnection(env.temporal) : `${env.temporalAddress} (namespace ${env.temporalNamespace})`}`,
  );
  if (env.uiUrl) console.log(`web ui:     ${env.uiUrl}`);
  if (codec)
    console.log(
      `codec:      ${codec.url} (payloads encrypted with key ${codec.activeKeyId} of ${codec.keys.path}${env.uiUrl ? '; the Web UI decrypts through it' : ''})`,
    );
  console.log(`state:      ${repo} (GitStateStore default, Destination worker-1)`);
  if (system.metricsUrl) console.log(`metrics:    ${system.metricsUrl}`);
  console.log(
    `executor:   ${env.node ? 'kubernetes (pipelines run as Pods)' : 'local (pipeline commands run on this host)'}`,
  );
  if (env.node) {
    console.log(`node:       ${env.node.nodeName} (containerd ${env.node.containerdSocket})`);
    console.log(
      `images:     ${TOOLBOX_IMAGE}; add more: kratix-temporal images load <archive.tar> --dir ${opts.dir}`,
    );
  }
  console.log(`try:        KUBECONFIG=${env.kubeconfigPath} kubectl get namespaces`);
  console.log('ready');
  // Keep running until a signal arrives.
  await new Promise<never>(() => {});
}
