import { tsImport } from 'tsx/esm/api';

export default async function clusterTeardown() {
  const mod = await tsImport('./cluster-teardown-impl.ts', import.meta.url);
  await mod.default();
}
