import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PLATFORM_NAMESPACE } from '../../src/core/constants.js';
import type { Kube } from '../../src/kube/client.js';
import { serviceAccountKubeconfig } from '../../src/kube/identity.js';
import { applyManifestFile, CONTROLLER_RBAC_FILE } from '../../src/kube/install.js';

/**
 * Applies deploy/rbac/controller.yaml and writes a kubeconfig for its ServiceAccount: the test
 * controller and worker run as it, so every test also proves that least-privilege RBAC is enough.
 */
export async function writeControllerKubeconfig(admin: Kube, dir: string): Promise<string> {
  await applyManifestFile(admin, CONTROLLER_RBAC_FILE);
  const file = path.join(dir, 'controller.kubeconfig');
  const sa = { name: 'kratix-temporal', namespace: PLATFORM_NAMESPACE };
  writeFileSync(file, await serviceAccountKubeconfig(admin, sa, 24 * 3600), { mode: 0o600 });
  return file;
}
