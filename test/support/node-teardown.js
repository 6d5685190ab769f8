import { tsImport } from 'tsx/esm/api';

export default async function nodeTeardown() {
  const mod = await tsImport('./node-teardown-impl.ts', import.meta.url);
  await mod.default();
}
