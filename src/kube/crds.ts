import type { KubeObject } from '../core/types.js';
import { isNotFound, type Kube } from './client.js';

// CRDs go through the generic custom-objects client on purpose: the typed ApiextensionsV1Api
// serializer maps known field names only and silently drops `x-kubernetes-*` schema keys.
const CRD = { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions' };

interface CrdStatus {
  status?: { conditions?: { type: string; status: string; message?: string }[] };
}

export async function readCrd(kube: Kube, name: string): Promise<(KubeObject & CrdStatus) | undefined> {
  try {
    return (await kube.custom.getClusterCustomObject({ ...CRD, name })) as KubeObject & CrdStatus;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Creates the CRD, or replaces it (keeping its resourceVersion) when it exists. */
export async function applyCrd(kube: Kube, crd: KubeObject): Promise<void> {
  const existing = await readCrd(kube, crd.metadata.name);
  if (!existing) {
    await kube.custom.createClusterCustomObject({ ...CRD, body: crd });
    return;
  }
  const body = { ...crd, metadata: { ...crd.metadata, resourceVersion: existing.metadata.resourceVersion } };
  await kube.custom.replaceClusterCustomObject({ ...CRD, name: crd.metadata.name, body });
}

export async function waitCrdEstablished(kube: Kube, name: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const crd = await readCrd(kube, name);
    if (crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    if (Date.now() > deadline) throw new Error(`CRD ${name} was not Established after ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Deletes the CRD and waits until it is gone: the API server removes its remaining objects first
 * (finalizer customresourcecleanup.apiextensions.k8s.io), and a Promise delete that returned
 * before then would leave the API visible after `kubectl delete promise --wait`. A CRD still
 * there after `timeoutMs` is an error, so the caller (an activity) retries.
 */
export async function deleteCrd(kube: Kube, name: string, timeoutMs = 10_000): Promise<void> {
  try {
    await kube.custom.deleteClusterCustomObject({ ...CRD, name });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const deadline = Date.now() + timeoutMs;
  while (await readCrd(kube, name)) {
    if (Date.now() > deadline)
      throw new Error(`CRD ${name} is still being deleted after ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
