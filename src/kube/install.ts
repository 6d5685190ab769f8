import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { PLATFORM_NAMESPACE } from '../core/constants.js';
import type { KubeObject } from '../core/types.js';
import { isConflict, type Kube } from './client.js';
import { applyCrd, waitCrdEstablished } from './crds.js';

export const CRD_DIR = fileURLToPath(new URL('../../deploy/crds', import.meta.url));

/**
 * Installs (or updates) the platform CRDs from deploy/crds and the platform namespace, then waits
 * until every CRD is Established: what `dev`, the tests and `kratix-temporal install` share.
 */
export async function installPlatform(kube: Kube, dir = CRD_DIR): Promise<void> {
  try {
    await kube.core.createNamespace({ body: { metadata: { name: PLATFORM_NAMESPACE } } });
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
  const crds = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) =>
      parseAllDocuments(readFileSync(path.join(dir, f), 'utf8')).map((d) => d.toJS() as KubeObject),
    )
    .filter((d) => d?.kind === 'CustomResourceDefinition');
  for (const crd of crds) await applyCrd(kube, crd);
  for (const crd of crds) await waitCrdEstablished(kube, crd.metadata.name);
}
