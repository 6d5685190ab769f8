// Global setup of the `node` jest project (kubernetes executor on a real node); see node-setup-impl.ts.
import { tsImport } from 'tsx/esm/api';

export default async function nodeSetup() {
  const mod = await tsImport('./node-setup-impl.ts', import.meta.url);
  await mod.default();
}
