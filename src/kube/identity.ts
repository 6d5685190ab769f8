import { createHash } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { LRUCache } from 'lru-cache';
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
 * Identities this process applied recently, by content: every Resource of a Promise in a namespace
 * shares its pipelines' identity, so the ServiceAccount and RBAC are applied once per few minutes,
 * not once per run. The key includes the Promise's uid: a re-created Promise applies again.
 */
const appliedIdentities = new LRUCache<string, true>({ max: 10_000, ttl: 5 * 60_000 });

export async function applyPipelineIdentityOnce(
  kube: Kube,
  id: PipelineIdentity,
  promiseUid: string | undefined,
): Promise<void> {
  const key = createHash('sha256')
    .update(JSON.stringify([promiseUid, id]))
    .digest('hex');
  if (appliedIdentities.get(key)) return;
  await applyPipelineIdentity(kube, id);
  appliedIdentities.set(key, true);
}

/** Something removed identities (a Promise deleted or changed): apply them again next time. */
export function forgetAppliedIdentities(): void {
  appliedIdentities.clear();
  tokens.clear();
}

/** A token is reused while at least this much of its life is left (pipelines run with it). */
const TOKEN_MIN_REMAINING_MS = 45 * 60_000;
const tokens = new LRUCache<string, { token: string; expiresAt: number }>({ max: 10_000 });

/**
 * A TokenRequest token for the ServiceAccount. With a `cacheKey` (which changes whenever the
 * ServiceAccount may have been re-created) it is reused while it has ≥ 45 minutes left.
 */
async function serviceAccountToken(
  kube: Kube,
  sa: { name: string; namespace: string; cacheKey?: string },
  expirationSeconds: number,
): Promise<string> {
  const key = sa.cacheKey === undefined ? undefined : `${sa.namespace}/${sa.name}/${sa.cacheKey}`;
  const cached = key === undefined ? undefined : tokens.get(key);
  if (cached && cached.expiresAt - Date.now() >= TOKEN_MIN_REMAINING_MS) return cached.token;
  let tr;
  try {
    tr = await kube.core.createNamespacedServiceAccountToken({
      name: sa.name,
      namespace: sa.namespace,
      body: { spec: { audiences: [], expirationSeconds } },
    });
  } catch (err) {
    // The ServiceAccount is gone (e.g. removed by hand): the next attempt applies it again.
    if (isNotFound(err)) forgetAppliedIdentities();
    throw err;
  }
  const token = tr.status?.token;
  if (!token) throw new Error(`TokenRequest for ${sa.namespace}/${sa.name} returned no token`);
  const expiresAt = tr.status?.expirationTimestamp
    ? new Date(tr.status.expirationTimestamp).getTime()
    : Date.now() + expirationSeconds * 1000;
  if (key !== undefined) tokens.set(key, { token, expiresAt });
  return token;
}

/**
 * A kubeconfig that authenticates as the ServiceAccount with a short-lived TokenRequest token,
 * pointing at the same API server as `kube`. Written only to the run directory, never logged.
 */
export async function serviceAccountKubeconfig(
  kube: Kube,
  sa: { name: string; namespace: string; cacheKey?: string },
  expirationSeconds = 3600,
): Promise<string> {
  const token = await serviceAccountToken(kube, sa, expirationSeconds);
  const cluster = kube.kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  let caData = cluster.caData;
  if (!caData && cluster.caFile) {
    const { readFileSync } = await import('node:fs');
    caData = readFileSync(cluster.caFile).toString('base64');
  }
  // JSON, which every kubeconfig reader takes (it is YAML too), written for each run: a YAML
  // serialiser took about a millisecond of the worker's event loop per run.
  return JSON.stringify({
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
