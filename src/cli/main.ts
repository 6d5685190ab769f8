#!/usr/bin/env node
import { Command, Option } from 'commander';
import path from 'node:path';
import { runDev } from './dev.js';
import { loadDevImage } from '../infra/dev-environment.js';
import { install } from './install.js';
import { replay } from './replay.js';
import { runCodecServer, type CodecServerFlags } from './codec-server.js';
import { registerTestCommand } from './test-command.js';
import { registerInspectCommands } from './inspect-commands.js';
import { startSystem } from '../system.js';
import { EXECUTORS, writeWorkflowBundle, type ExecutorName } from '../worker.js';
import { untracedBundlePath } from '../temporal/tracing.js';
import { PIPELINE_HELPER_IMAGE } from '../pipeline-helper/image.js';
import { resolveHelperImage } from '../kube/own-image.js';
import { logger } from '../logger.js';
import {
  DEFAULT_TEMPORAL_ADDRESS,
  resolveTemporalConnection,
  type TemporalConnectionFlags,
} from '../temporal/connection.js';

const program = new Command()
  .name('kratix-temporal')
  .description('Kratix Promises and Resources on Temporal durable workflows');

const dev = program
  .command('dev')
  .description(
    'run a local control plane (kube-apiserver + etcd), a Temporal dev server with Web UI, the controller and a worker',
  )
  .option('--dir <dir>', 'state directory (kubeconfig, logs, data)', '.kratix-temporal')
  .option('--kubeconfig <path>', 'use an existing cluster instead of starting kube-apiserver + etcd')
  .option(
    '--temporal-address <host:port>',
    'use an existing Temporal server instead of starting the dev server (with the TLS options below)',
  )
  .option('--temporal-namespace <ns>', 'Temporal namespace (default: default)')
  .option('--persist', 'keep cluster (etcd) and Temporal (SQLite) state in --dir across restarts', false)
  .option(
    '--node',
    'also run a real node (kubelet, containerd, kube-proxy, controller-manager, scheduler) for pipeline Pods; needs root and `scripts/setup.sh --node`',
    false,
  )
  .option(
    '--encrypt-payloads',
    'encrypt Temporal payloads (a dev key in <dir>/payload-keys unless --payload-key-dir) and serve a codec endpoint the Web UI decrypts with',
    false,
  );
withTemporalSecurity(dev).action(
  async (
    o: TemporalConnectionFlags & {
      dir: string;
      kubeconfig?: string;
      persist: boolean;
      node: boolean;
      encryptPayloads: boolean;
    },
  ) => {
    await runDev(o);
  },
);

program
  .command('images')
  .description('images of the dev node (`dev --node`)')
  .command('load <archive>')
  .description(
    'import an image archive (`docker save` or OCI layout tar) into the running dev node, like `kind load image-archive`',
  )
  .option('--dir <dir>', 'state directory of the running `dev --node`', '.kratix-temporal')
  .action(async (archive: string, o: { dir: string }) => {
    const nodeName = await loadDevImage(o.dir, archive);
    console.log(`${archive} loaded into node ${nodeName}`);
  });

interface RunOpts extends TemporalConnectionFlags {
  kubeconfig?: string;
  temporalMetricsAddress?: string;
  workflowBundle?: string;
  metricsAddress?: string;
  workDir: string;
  executor: ExecutorName;
  helperImage?: string;
}

/** Runs the controller and/or worker until SIGINT/SIGTERM. */
async function runComponents(
  o: RunOpts,
  parts: { runController: boolean; runWorker: boolean },
): Promise<void> {
  const kubeconfig = o.kubeconfig ?? process.env.KUBECONFIG;
  // In a Pod, no kubeconfig means the Pod's ServiceAccount (client-node's in-cluster config).
  if (!kubeconfig && !process.env.KUBERNETES_SERVICE_HOST)
    throw new Error('set --kubeconfig or KUBECONFIG (in a Pod: neither, its ServiceAccount is used)');
  const system = await startSystem({
    kubeconfig,
    temporal: resolveTemporalConnection(o),
    workDir: path.resolve(o.workDir),
    executor: o.executor,
    helperImage:
      parts.runWorker && o.executor === 'kubernetes'
        ? await resolveHelperImage(o.helperImage, kubeconfig).then(({ image, source }) => {
            logger.info({ image, source }, 'pipeline helper image');
            return image;
          })
        : undefined,
    metricsAddress: o.metricsAddress,
    temporalMetricsAddress: o.temporalMetricsAddress,
    workflowBundlePath: o.workflowBundle && path.resolve(o.workflowBundle),
    ...parts,
  });
  const stop = async () => {
    await system.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  logger.info(parts, 'running');
  await system.done;
  await new Promise<never>(() => {});
}

/**
 * TLS, mTLS and API key options (src/temporal/connection.ts): flags over the environment variables
 * the Temporal CLI reads. Certificates and keys are files (e.g. a mounted Secret), read at start.
 */
function withTemporalSecurity(cmd: Command): Command {
  return cmd
    .option(
      '--temporal-tls',
      'connect with TLS (env TEMPORAL_TLS); implied by any option below, so needed only for a server whose certificate the system CAs verify',
    )
    .option('--no-temporal-tls', 'connect in plaintext even with an API key')
    .option(
      '--temporal-tls-ca <file>',
      'CA certificate (PEM) to verify the server with instead of the system CAs (env TEMPORAL_TLS_SERVER_CA_CERT_PATH or TEMPORAL_TLS_CA)',
    )
    .option(
      '--temporal-tls-server-name <name>',
      'verify the server certificate against this name instead of the address host (env TEMPORAL_TLS_SERVER_NAME)',
    )
    .option(
      '--temporal-tls-cert <file>',
      'client certificate (PEM) for mTLS (env TEMPORAL_TLS_CLIENT_CERT_PATH or TEMPORAL_TLS_CERT)',
    )
    .option(
      '--temporal-tls-key <file>',
      'client private key (PEM) for mTLS (env TEMPORAL_TLS_CLIENT_KEY_PATH or TEMPORAL_TLS_KEY)',
    )
    .option(
      '--temporal-api-key <key>',
      'API key, e.g. Temporal Cloud; better set env TEMPORAL_API_KEY: arguments show in the process list',
    )
    .option(
      '--payload-key-dir <path>',
      'encrypt payloads (AES-256-GCM) with the keys in this directory: one file per key id plus active-key-id (env KRATIX_TEMPORAL_PAYLOAD_KEYS)',
    );
}

/** Where the Temporal frontend is and how to reach it (flags over TEMPORAL_* environment variables). */
const withTemporal = (cmd: Command) =>
  withTemporalSecurity(
    cmd
      .option(
        '--temporal-address <host:port>',
        `Temporal frontend (env TEMPORAL_ADDRESS; default ${DEFAULT_TEMPORAL_ADDRESS})`,
      )
      .option('--temporal-namespace <ns>', 'Temporal namespace (env TEMPORAL_NAMESPACE; default: default)'),
  );

const withKubeconfig = (cmd: Command) =>
  cmd.option(
    '--kubeconfig <path>',
    'kubeconfig of the platform cluster (default: $KUBECONFIG; in a Pod: its ServiceAccount)',
  );

const common = (cmd: Command) =>
  withTemporal(withKubeconfig(cmd))
    .option('--work-dir <dir>', 'pipeline run directories (worker)', '.kratix-temporal/runs')
    .option(
      '--workflow-bundle <file>',
      'prebuilt workflow code (kratix-temporal bundle) for the worker; default: bundle at start',
    )
    .option(
      '--metrics-address <host:port>',
      'serve Prometheus /metrics and /healthz here (e.g. 0.0.0.0:9464)',
    )
    .option(
      '--temporal-metrics-address <host:port>',
      "serve the Temporal SDK's worker metrics (Prometheus) here (e.g. 0.0.0.0:9465)",
    );

common(
  program.command('controller').description('watch Promises and Resources and drive their workflows'),
).action((o: RunOpts) => runComponents(o, { runController: true, runWorker: false }));
common(
  program
    .command('worker')
    .description('run workflows and activities (pipelines) from the kratix task queue'),
)
  .addOption(
    new Option(
      '--executor <name>',
      'how pipelines run: kubernetes (Pods) or local (host processes, development)',
    )
      .choices(EXECUTORS)
      .default('kubernetes'),
  )
  .option(
    '--helper-image <image>',
    `image of the kubernetes executor's input/collect containers (env KRATIX_HELPER_IMAGE; in a Pod with env POD_NAME and POD_NAMESPACE: its own image; default ${PIPELINE_HELPER_IMAGE})`,
  )
  .action((o: RunOpts) => runComponents(o, { runController: false, runWorker: true }));

withTemporal(
  withKubeconfig(
    program
      .command('install')
      .description(
        'prepare a cluster and a Temporal namespace: platform CRDs, the controller RBAC (deploy/rbac), search attributes',
      ),
  ),
)
  .option('--no-rbac', 'skip deploy/rbac/controller.yaml')
  .action(async (o: TemporalConnectionFlags & { kubeconfig?: string; rbac: boolean }) => {
    const result = await install({
      kubeconfig: o.kubeconfig ?? process.env.KUBECONFIG,
      temporal: resolveTemporalConnection(o),
      rbac: o.rbac,
    });
    for (const line of result) console.log(line);
  });

program
  .command('bundle')
  .description('bundle the workflow code into one file for fast worker starts (--workflow-bundle)')
  .option('--out <file>', 'where to write it', 'dist/workflow-bundle.js')
  .action(async (o: { out: string }) => {
    await writeWorkflowBundle(path.resolve(o.out));
    console.log(
      `workflow bundle written to ${path.resolve(o.out)} (untraced: ${untracedBundlePath(path.resolve(o.out))})`,
    );
  });

withTemporal(
  program
    .command('replay')
    .description('replay workflow histories against this build: finds non-determinism before a deploy does')
    .option('--workflow-id <id...>', 'workflow ids to fetch from the server')
    .option('--query <query>', 'visibility query, e.g. \'KratixPromise = "redis"\'')
    .option('--file <path...>', 'history JSON files (Web UI download, temporal workflow show -o json)'),
).action(async (o: TemporalConnectionFlags & Omit<Parameters<typeof replay>[0], 'temporal'>) => {
  const results = await replay({ ...o, temporal: resolveTemporalConnection(o) });
  for (const r of results) console.log(r.error ? `FAIL ${r.workflowId}: ${r.error}` : `ok   ${r.workflowId}`);
  const failed = results.filter((r) => r.error).length;
  console.log(`${results.length} replayed, ${failed} failed`);
  if (failed) process.exitCode = 1;
});

program
  .command('codec-server')
  .description(
    "serve Temporal's remote codec protocol (POST /encode, /decode) so the Web UI and temporal CLI show decrypted payloads",
  )
  .option(
    '--payload-key-dir <path>',
    'the payload keys (env KRATIX_TEMPORAL_PAYLOAD_KEYS), as given to the worker and controller',
  )
  .option('--listen <host:port>', 'where to listen', '127.0.0.1:8081')
  .option(
    '--cors-origin <origin...>',
    'Web UI origins allowed to call it, e.g. https://temporal-ui.example.com',
  )
  .option(
    '--auth-token-file <file>',
    'require "Authorization: Bearer <token>" with the token in this file (env KRATIX_CODEC_AUTH_TOKEN: the token itself)',
  )
  .action((o: CodecServerFlags) => runCodecServer(o));

registerTestCommand(program);
registerInspectCommands(program, (cmd) => withTemporal(withKubeconfig(cmd)));

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
