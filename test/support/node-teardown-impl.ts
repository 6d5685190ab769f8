import { rmSync } from 'node:fs';

export default async function nodeTeardown(): Promise<void> {
  const state = globalThis.__KRATIX_NODE_ENV__;
  if (!state) return;
  await state.controller.stop();
  await state.worker.stop();
  // The node first: its stop deletes Pods through the API server.
  await state.node.stop();
  await Promise.all([state.cp.stop(), state.temporal.stop()]);
  if (process.env.KRATIX_TEST_KEEP !== '1') rmSync(state.dir, { recursive: true, force: true });
}
