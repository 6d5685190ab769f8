import { rmSync } from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  const state = globalThis.__KRATIX_ENV__;
  if (!state) return;
  await state.system.stop();
  await state.worker.stop();
  await state.collector.stop();
  await state.env.stop();
  if (process.env.KRATIX_TEST_KEEP !== '1') rmSync(state.dir, { recursive: true, force: true });
}
