import { rmSync } from 'node:fs';

export default async function clusterTeardown(): Promise<void> {
  const state = globalThis.__KRATIX_CLUSTER_ENV__;
  if (!state) return;
  // The node first: its stop deletes the Pods (the installed controller and workers included)
  // through the API server.
  await state.node.stop();
  await Promise.all([state.cp.stop(), state.temporal.stop()]);
  if (process.env.KRATIX_TEST_KEEP !== '1') rmSync(state.dir, { recursive: true, force: true });
}
