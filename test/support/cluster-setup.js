// Global setup of the `cluster` jest project (kratix-temporal installed in a real node); see cluster-setup-impl.ts.
import { tsImport } from 'tsx/esm/api';

export default async function clusterSetup() {
  const mod = await tsImport('./cluster-setup-impl.ts', import.meta.url);
  await mod.default();
}
