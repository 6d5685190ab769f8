import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildAppImage } from '../../src/infra/app-image.js';
import { startControlPlane, type ControlPlane } from '../../src/infra/control-plane.js';
import { buildToolboxImage, TOOLBOX_IMAGE } from '../../src/infra/images.js';
import { startNode, type RunningNode } from '../../src/infra/node.js';
import { startTemporalServer, type TemporalServer } from '../../src/infra/temporal-server.js';

declare global {
  var __KRATIX_CLUSTER_ENV__:
    { dir: string; cp: ControlPlane; node: RunningNode; temporal: TemporalServer } | undefined;
}

/**
 * The in-cluster install test's environment (jest project `cluster`, run by `npm test` after the
 * other projects: one node per machine). Its own control plane in node mode, the node, and a
 * Temporal dev server listening on all addresses so Pods reach it at the host's IP; the kratix-temporal image
 * (`npm run image`) and the toolbox image are built and imported into the node. The test installs
 * kratix-temporal itself, with `kubectl apply -k` of deploy/overlays/test: nothing runs on the host
 * but the cluster and Temporal.
 */
export default async function clusterSetup(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kratix-cluster-test-'));
  const started: { stop: () => Promise<void> }[] = [];
  try {
    const t0 = Date.now();
    const crash = (name: string, code: number | null) =>
      console.error(`\n[cluster test infra] ${name} exited unexpectedly (code ${code}); logs in ${dir}`);
    const cp = await startControlPlane({ dir: path.join(dir, 'control-plane'), node: {}, onCrash: crash });
    started.push(cp);
    const hostIp = cp.node!.hostIp;
    // whatever started is stopped on a failure, even if something else failed first
    const track = <T extends { stop: () => Promise<void> }>(p: Promise<T>) =>
      p.then((x) => (started.push(x), x));
    const [temporal, node, app, toolbox] = await Promise.all([
      track(startTemporalServer({ dir: path.join(dir, 'temporal'), listenAll: true, onCrash: crash })),
      track(startNode({ controlPlane: cp, dir: path.join(dir, 'node'), onCrash: crash })),
      buildAppImage(),
      buildToolboxImage(),
    ]);
    for (const image of [app, toolbox]) await node.loadImage(image.archive);
    globalThis.__KRATIX_CLUSTER_ENV__ = { dir, cp, node, temporal };
    // The cluster project's setup file maps these onto the KRATIX_TEST_* names the test helpers read.
    process.env.KRATIX_CLUSTER_TEST_DIR = dir;
    process.env.KRATIX_CLUSTER_TEST_KUBECONFIG = cp.kubeconfigPath;
    // what the installed controller and worker dial: the host's IP (Pods reach the host there)
    const podTemporalAddress = `${hostIp}:${temporal.address.split(':').pop()}`;
    process.env.KRATIX_CLUSTER_TEST_TEMPORAL_ADDRESS = podTemporalAddress;
    process.env.KRATIX_CLUSTER_TEST_TOOLBOX_IMAGE = TOOLBOX_IMAGE;
    console.log(
      `\n[cluster test infra] node ${node.nodeName}, Temporal at ${podTemporalAddress}, images ${app.name} ` +
        `(${(app.bytes / 1024 / 1024).toFixed(0)} MiB) imported in ${Date.now() - t0} ms (${dir})`,
    );
  } catch (err) {
    // Jest runs no teardown after a failed setup: leave no node behind (the node first: its stop
    // deletes Pods through the API server).
    const isNode = (s: object) => 'nodeName' in s;
    for (const s of [...started.filter(isNode), ...started.filter((s) => !isNode(s)).reverse()])
      await s.stop().catch(() => {});
    throw err;
  }
}
