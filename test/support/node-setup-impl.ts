import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PLATFORM_NAMESPACE } from '../../src/core/constants.js';
import { startControlPlane, type ControlPlane } from '../../src/infra/control-plane.js';
import { buildImage, buildToolboxImage, TOOLBOX_IMAGE } from '../../src/infra/images.js';
import { startNode, type RunningNode } from '../../src/infra/node.js';
import { startTemporalServer, type TemporalServer } from '../../src/infra/temporal-server.js';
import { toolboxRootfs } from '../../src/infra/images.js';
import { resolveBinary } from '../../src/infra/binaries.js';
import { Kube } from '../../src/kube/client.js';
import { installPlatform } from '../../src/kube/install.js';
import { buildPipelineHelperImage, PIPELINE_HELPER_IMAGE } from '../../src/pipeline-helper/image.js';
import { ensureDefaultStateStore } from '../../src/statestore/default-store.js';
import { writeWorkflowBundle } from '../../src/worker.js';
import { WorkerSupervisor } from './worker-supervisor.js';
import { writeControllerKubeconfig } from './controller-identity.js';

/** An image whose entrypoint (not a command) does the work, as upstream pipeline images do. */
export const ENTRYPOINT_IMAGE = 'localhost/kratix-temporal/test-entrypoint:1';

declare global {
  var __KRATIX_NODE_ENV__:
    | {
        dir: string;
        cp: ControlPlane;
        node: RunningNode;
        temporal: TemporalServer;
        worker: WorkerSupervisor;
        controller: WorkerSupervisor;
      }
    | undefined;
}

/**
 * The kubernetes executor's test environment: a control plane serving a real node (kubelet +
 * containerd + runc, kube-controller-manager, kube-scheduler, kube-proxy), its own Temporal dev
 * server, and the controller and a `--executor kubernetes` worker as supervised processes running
 * as the least-privilege ServiceAccount. The project's helper and toolbox images are built locally
 * and imported into the node (no registry).
 */
export default async function nodeSetup(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kratix-node-test-'));
  const started: { stop: () => Promise<void> }[] = [];
  try {
    await setUp(dir, started);
  } catch (err) {
    // Jest runs no teardown after a failed setup: leave no node behind.
    for (const s of started.reverse()) await s.stop().catch(() => {});
    throw err;
  }
}

async function setUp(dir: string, started: { stop: () => Promise<void> }[]): Promise<void> {
  const t0 = Date.now();
  const crash = (name: string, code: number | null) =>
    console.error(`\n[node test infra] ${name} exited unexpectedly (code ${code}); logs in ${dir}`);
  const [cp, temporal] = await Promise.all([
    startControlPlane({ dir: path.join(dir, 'control-plane'), node: {}, onCrash: crash }),
    startTemporalServer({ dir: path.join(dir, 'temporal'), onCrash: crash }),
  ]);
  started.push(cp, temporal);
  const [node, helper, toolbox, entrypoint] = await Promise.all([
    startNode({ controlPlane: cp, dir: path.join(dir, 'node'), onCrash: crash }),
    buildPipelineHelperImage(),
    buildToolboxImage(),
    buildImage({
      name: ENTRYPOINT_IMAGE,
      rootfs: [
        ...toolboxRootfs('/usr/bin/busybox', resolveBinary('kubectl')),
        {
          path: 'entrypoint.sh',
          type: 'file',
          mode: 0o755,
          content:
            '#!/bin/sh\nset -e\nprintf "fromEntrypoint: %s\\ngreeting: %s\\n" "$KRATIX_PIPELINE_NAME" "$GREETING" > /kratix/metadata/status.yaml\n',
        },
      ],
      entrypoint: ['/entrypoint.sh'],
    }),
  ]);
  started.push(node);
  for (const image of [helper, toolbox, entrypoint]) await node.loadImage(image.archive);
  const tNode = Date.now();

  const admin = Kube.fromFile(cp.kubeconfigPath);
  await installPlatform(admin);
  const controllerKubeconfig = await writeControllerKubeconfig(admin, dir);
  const { repo } = await ensureDefaultStateStore(admin, dir);
  // Short enough for the tests to see: pending Pods fail after 20 s; 2 finished Pods kept.
  await admin.core.createNamespacedConfigMap({
    namespace: PLATFORM_NAMESPACE,
    body: {
      metadata: { name: 'kratix' },
      data: { config: 'numberOfJobsToKeep: 2\nworkflows:\n  pipelinePendingTimeout: 20s\n' },
    },
  });
  admin.close();
  const workflowBundle = path.join(dir, 'workflow-bundle.js');
  await writeWorkflowBundle(workflowBundle);
  const common = ['--kubeconfig', controllerKubeconfig, '--temporal-address', temporal.address];
  const env = { KRATIX_MIN_RECONCILIATION_INTERVAL: '1s', LOG_LEVEL: 'info' };
  const worker = new WorkerSupervisor(
    dir,
    [
      ...common,
      '--work-dir',
      path.join(dir, 'runs'),
      '--workflow-bundle',
      workflowBundle,
      '--executor',
      'kubernetes',
      '--helper-image',
      PIPELINE_HELPER_IMAGE,
    ],
    env,
  );
  const controller = new WorkerSupervisor(dir, common, env, 'controller');
  worker.start();
  controller.start();
  started.push(worker, controller);
  globalThis.__KRATIX_NODE_ENV__ = { dir, cp, node, temporal, worker, controller };
  // The node project's setup file maps these onto the KRATIX_TEST_* names the test helpers read.
  process.env.KRATIX_NODE_TEST_DIR = dir;
  process.env.KRATIX_NODE_TEST_KUBECONFIG = cp.kubeconfigPath;
  process.env.KRATIX_NODE_TEST_TEMPORAL_ADDRESS = temporal.address;
  process.env.KRATIX_NODE_TEST_DEFAULT_REPO = repo;
  process.env.KRATIX_NODE_TEST_WORKER_PID_FILE = worker.pidFile;
  process.env.KRATIX_NODE_TEST_TOOLBOX_IMAGE = TOOLBOX_IMAGE;
  process.env.KRATIX_NODE_TEST_ENTRYPOINT_IMAGE = ENTRYPOINT_IMAGE;
  console.log(
    `\n[node test infra] node ${node.nodeName} ready in ${tNode - t0} ms, controller + worker starting (${dir})`,
  );
}
