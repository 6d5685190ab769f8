import { parse } from 'yaml';
import { CONFIG_MAP_NAME, KRATIX_GROUP, KRATIX_VERSION, PLATFORM_NAMESPACE } from '../core/constants.js';
import type { KratixPromise, KubeObject, ResourceRef } from '../core/types.js';
import { isConflict, isNotFound, mergePatch, type Kube } from './client.js';
import type { PlatformWorkflowConfig } from '../core/pipeline-settings.js';
import type { PipelinePermissionsPolicy } from '../core/permissions.js';

const promiseApi = { group: KRATIX_GROUP, version: KRATIX_VERSION, plural: 'promises' };

/**
 * A Promise by name: from the worker's watch cache when it has it (`fresh` skips the cache), else
 * from the API server.
 */
export async function readPromise(
  kube: Kube,
  name: string,
  { fresh = false } = {},
): Promise<KratixPromise | undefined> {
  const cached = fresh ? undefined : kube.reads?.promise(name);
  if (cached && cached !== 'unknown') return cached;
  try {
    return (await kube.custom.getClusterCustomObject({ ...promiseApi, name })) as KratixPromise;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export async function readResource(kube: Kube, ref: ResourceRef): Promise<KubeObject | undefined> {
  try {
    const obj = (await kube.custom.getNamespacedCustomObject({
      group: ref.group,
      version: ref.version,
      plural: ref.plural,
      namespace: ref.namespace,
      name: ref.name,
    })) as KubeObject;
    // Same name, different incarnation: ours is gone.
    return obj.metadata.uid === ref.uid ? obj : undefined;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export async function patchResourceStatus(
  kube: Kube,
  ref: ResourceRef,
  status: Record<string, unknown>,
): Promise<void> {
  await kube.custom.patchNamespacedCustomObjectStatus(
    {
      group: ref.group,
      version: ref.version,
      plural: ref.plural,
      namespace: ref.namespace,
      name: ref.name,
      body: { status },
    },
    mergePatch,
  );
}

export async function patchPromiseStatus(
  kube: Kube,
  name: string,
  status: Record<string, unknown>,
): Promise<void> {
  await kube.custom.patchClusterCustomObjectStatus({ ...promiseApi, name, body: { status } }, mergePatch);
}

type MetaPatcher = (meta: KubeObject['metadata']) => Record<string, unknown> | undefined;

/**
 * Read-modify-write of metadata with optimistic concurrency (resourceVersion in the patch), retried
 * on conflict. `change` returns the metadata patch, or undefined when nothing needs to change.
 * `known`: a copy the caller already holds (a watch's), tried first instead of a read; if it is
 * behind, the patch conflicts and the next attempt reads the object.
 */
export async function patchMetadata(
  read: () => Promise<KubeObject | undefined>,
  write: (body: unknown) => Promise<unknown>,
  change: MetaPatcher,
  known?: KubeObject,
): Promise<boolean> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const obj = attempt === 0 && known?.metadata.resourceVersion ? known : await read();
    if (!obj) return false;
    const patch = change(obj.metadata);
    if (!patch) return true;
    try {
      await write({ metadata: { ...patch, resourceVersion: obj.metadata.resourceVersion } });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      if (!isConflict(err)) throw err;
    }
  }
  throw new Error('too many conflicts updating metadata');
}

export function removeFinalizerPatch(finalizer: string): MetaPatcher {
  return (meta) =>
    meta.finalizers?.includes(finalizer)
      ? { finalizers: meta.finalizers.filter((f) => f !== finalizer) }
      : undefined;
}

export function addFinalizerPatch(finalizer: string): MetaPatcher {
  return (meta) =>
    meta.finalizers?.includes(finalizer)
      ? undefined
      : { finalizers: [...(meta.finalizers ?? []), finalizer] };
}

export function removeLabelPatch(label: string): MetaPatcher {
  return (meta) => (meta.labels?.[label] !== undefined ? { labels: { [label]: null } } : undefined);
}

export function patchResourceMetadata(
  kube: Kube,
  ref: ResourceRef,
  change: MetaPatcher,
  known?: KubeObject,
): Promise<boolean> {
  const coords = {
    group: ref.group,
    version: ref.version,
    plural: ref.plural,
    namespace: ref.namespace,
    name: ref.name,
  };
  return patchMetadata(
    () => readResource(kube, ref),
    (body) => kube.custom.patchNamespacedCustomObject({ ...coords, body }, mergePatch),
    change,
    known?.metadata.uid === ref.uid ? known : undefined,
  );
}

export function patchPromiseMetadata(
  kube: Kube,
  name: string,
  uid: string | undefined,
  change: MetaPatcher,
  known?: KubeObject,
): Promise<boolean> {
  return patchMetadata(
    async () => {
      const p = await readPromise(kube, name);
      return p && (!uid || p.metadata.uid === uid) ? p : undefined;
    },
    (body) => kube.custom.patchClusterCustomObject({ ...promiseApi, name, body }, mergePatch),
    change,
    known && (!uid || known.metadata.uid === uid) ? known : undefined,
  );
}

/**
 * The platform-wide settings in ConfigMap kratix-platform-system/kratix (key `config`, YAML), as
 * upstream Kratix reads them, plus ours. The pipeline-run part lives with its resolution rules.
 */
export interface PlatformConfig extends PlatformWorkflowConfig {
  reconciliationInterval?: string;
  promiseUpdateConcurrency?: number;
  /** Limits on what pipelines' rbac.permissions may ask for; unset: anything. */
  pipelinePermissions?: PipelinePermissionsPolicy;
}

let platformConfigCache: { at: number; value: PlatformConfig } | undefined;

/** Cached for a few seconds: every run reads it, and it changes rarely. */
export async function readPlatformConfig(kube: Kube): Promise<PlatformConfig> {
  if (platformConfigCache && Date.now() - platformConfigCache.at < 5_000) return platformConfigCache.value;
  const value = await readPlatformConfigNow(kube);
  platformConfigCache = { at: Date.now(), value };
  return value;
}

async function readPlatformConfigNow(kube: Kube): Promise<PlatformConfig> {
  try {
    const cm = await kube.core.readNamespacedConfigMap({
      name: CONFIG_MAP_NAME,
      namespace: PLATFORM_NAMESPACE,
    });
    const text = cm.data?.config;
    const parsed = text ? (parse(text) as PlatformConfig | null) : null;
    return {
      ...(parsed ?? {}),
      ...(cm.data?.reconciliationInterval ? { reconciliationInterval: cm.data.reconciliationInterval } : {}),
    };
  } catch (err) {
    if (isNotFound(err)) return {};
    throw err;
  }
}
