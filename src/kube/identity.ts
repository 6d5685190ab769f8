import * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { PipelineIdentity } from '../core/pipeline-factory.js';
import { isConflict, isNotFound, type Kube } from './client.js';

const FIELD_MANAGER = 'kratix-temporal';
const RBAC = 'rbac.authorization.k8s.io/v1';

/** Creates the namespace if missing; reads first so an identity without `create` is fine when it exists. */
export async function ensureNamespace(kube: Kube, name: string): Promise<void> {
  try {
    await kube.core.readNamespace({ name });
    return;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  try {
    await kube.core.createNamespace({ body: { metadata: { name } } });
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
}

export async function apply(kube: Kube, obj: k8s.KubernetesObject): Promise<void> {
  await kube.objects.patch(obj, undefined, undefined, FIELD_MANAGER, true, k8s.PatchStrategy.ServerSideApply);
}

/**
 * Makes a pipeline's ServiceAccount and RBAC exist as computed (server-side apply: idempotent, one
 * call per object). A custom ServiceAccount is created only if missing and never modified.
 */
export async function applyPipelineIdentity(
  kube: Kube,
  id: PipelineIdentity,
): Promise<{ createdServiceAccount: boolean }> {
  const { serviceAccount: sa } = id;
  let createdServiceAccount = false;
  try {
    await kube.core.readNamespacedServiceAccount({ name: sa.name, namespace: sa.namespace });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    // Only a missing ServiceAccount can mean a missing namespace (kratix-platform-system).
    await ensureNamespace(kube, sa.namespace);
    try {
      await kube.core.createNamespacedServiceAccount({
        namespace: sa.namespace,
        body: {
          metadata: {
            name: sa.name,
            namespace: sa.namespace,
            // A custom SA we created is marked so cleanup can remove it (and only it).
            labels: {
              ...sa.labels,
              ...(id.customServiceAccount ? { 'kratix.io/created-by-kratix': 'true' } : {}),
            },
          },
        },
      });
      createdServiceAccount = true;
    } catch (e) {
      if (!isConflict(e)) throw e;
    }
  }
  for (const r of id.roles)
    await apply(kube, { apiVersion: RBAC, kind: 'Role', ...r } as k8s.KubernetesObject);
  for (const r of id.clusterRoles)
    await apply(kube, { apiVersion: RBAC, kind: 'ClusterRole', ...r } as k8s.KubernetesObject);
  for (const b of id.roleBindings) {
    if (b.metadata.namespace) await ensureNamespace(kube, b.metadata.namespace);
    await apply(kube, { apiVersion: RBAC, kind: 'RoleBinding', ...b } as k8s.KubernetesObject);
  }
  for (const b of id.clusterRoleBindings) {
    await apply(kube, { apiVersion: RBAC, kind: 'ClusterRoleBinding', ...b } as k8s.KubernetesObject);
  }
  return { createdServiceAccount };
}

/**
 * A kubeconfig that authenticates as the ServiceAccount with a short-lived TokenRequest token,
 * pointing at the same API server as `kube`. Written only to the run directory, never logged.
 */
export async function serviceAccountKubeconfig(
  kube: Kube,
  sa: { name: string; namespace: string },
  expirationSeconds = 3600,
): Promise<string> {
  const tr = await kube.core.createNamespacedServiceAccountToken({
    name: sa.name,
    namespace: sa.namespace,
    body: { spec: { audiences: [], expirationSeconds } },
  });
  const token = tr.status?.token;
  if (!token) throw new Error(`TokenRequest for ${sa.namespace}/${sa.name} returned no token`);
  const cluster = kube.kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  let caData = cluster.caData;
  if (!caData && cluster.caFile) {
    const { readFileSync } = await import('node:fs');
    caData = readFileSync(cluster.caFile).toString('base64');
  }
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'platform',
        cluster: {
          server: cluster.server,
          ...(caData ? { 'certificate-authority-data': caData } : {}),
          ...(cluster.skipTLSVerify ? { 'insecure-skip-tls-verify': true } : {}),
        },
      },
    ],
    users: [{ name: sa.name, user: { token } }],
    contexts: [
      { name: 'pipeline', context: { cluster: 'platform', user: sa.name, namespace: sa.namespace } },
    ],
    'current-context': 'pipeline',
  });
}
