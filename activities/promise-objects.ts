// What a Promise owns: its API's CRD (when it installed it) and the Resources of that API.
import { apiTarget, crdClaim } from '../src/core/crd.js';
import type { KratixPromise, KubeObject } from '../src/core/types.js';
import { isNotFound, type Kube } from '../src/kube/client.js';
import { readCrd } from '../src/kube/crds.js';

/** True when the Promise's CRD exists and was installed for this Promise (name and uid). */
export async function ownsCrd(kube: Kube, p: KratixPromise): Promise<boolean> {
  const crdName = p.spec?.api?.metadata?.name;
  if (!crdName) return false;
  const claim = crdClaim(await readCrd(kube, crdName), { name: p.metadata.name, uid: p.metadata.uid });
  return claim.kind === 'ours';
}

export async function listResources(kube: Kube, p: KratixPromise): Promise<KubeObject[]> {
  const t = apiTarget(p.spec?.api);
  if (!t) return [];
  try {
    const list = (await kube.custom.listClusterCustomObject({
      group: t.group,
      version: t.version,
      plural: t.plural,
    })) as {
      items: KubeObject[];
    };
    return list.items;
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}
