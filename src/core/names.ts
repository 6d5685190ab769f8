import {
  isPromiseRef,
  type ObjectRef,
  type ResourceRef,
  type WorkflowAction,
  type WorkflowType,
} from './types.js';

/** FNV-1a 32-bit: a small deterministic hash usable in workflow code (no node:crypto). */
export function fnv1a(input: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < input.length; i++) {
    h ^= input.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Kubernetes names are at most 63 characters (labels) / 253 (most objects). Long names are
 * shortened with a hash suffix so they stay unique and stable.
 */
export function shortenName(name: string, max = 63): string {
  if (name.length <= max) return name;
  const suffix = fnv1a(name).toString(16).padStart(8, '0');
  return `${name.slice(0, max - suffix.length - 1).replace(/[-.]+$/, '')}-${suffix}`;
}

/** `<promise>-<type>-<action>-<pipeline>`, the pipeline's ServiceAccount (DESIGN §3 identity). */
export function pipelineServiceAccountName(
  promise: string,
  type: WorkflowType,
  action: WorkflowAction,
  pipeline: string,
): string {
  return shortenName(`${promise}-${type}-${action}-${pipeline}`);
}

/** Role / ClusterRole / binding names for a pipeline; cluster-wide ones carry the namespace for uniqueness. */
export function pipelineRoleName(sa: string): string {
  return shortenName(`${sa}`);
}

export function pipelineClusterRoleName(sa: string, saNamespace: string, scope: string): string {
  return shortenName(`kratix-${saNamespace}-${sa}-${scope === '*' ? 'cluster' : scope}`, 253);
}

export function resourceWorkflowId(ref: Pick<ResourceRef, 'promise' | 'namespace' | 'name' | 'uid'>): string {
  return `resource/${ref.promise}/${ref.namespace}/${ref.name}/${ref.uid}`;
}

export function promiseWorkflowId(promise: string, uid: string): string {
  return `promise/${promise}/${uid}`;
}

export function configureRunId(parentId: string, n: number): string {
  return `${parentId}/configure/${n}`;
}

export function deleteRunId(parentId: string): string {
  return `${parentId}/delete`;
}

/**
 * The folder name of a pipeline run (`runId` is a workflow id): path-safe, and at most `max`
 * characters so a 253-character Resource name stays under the 255-byte file-name limit. A long
 * lifecycle part is shortened with a hash of all of it; the `_configure_<n>` tail is kept so the
 * runs of one lifecycle still share a prefix (earlier runs are pruned by it).
 */
export function runDirName(runId: string, max = 160): string {
  const safe = runId.replace(/[^A-Za-z0-9._-]+/g, '_');
  if (safe.length <= max) return safe;
  const m = /^(.*)(_configure_\d+)$/.exec(safe);
  const [base, tail] = m ? [m[1]!, m[2]!] : [safe, ''];
  return `${shortenName(base, max - tail.length)}${tail}`;
}

/**
 * The run folders (names as `runDirName` makes them) among `entries` that belong to the lifecycle
 * `lifecycleId`: its configure runs and its delete run. Exact even for hash-shortened names.
 */
export function runDirsOfLifecycle(lifecycleId: string, entries: string[]): string[] {
  const deleteDir = runDirName(`${lifecycleId}/delete`);
  return entries.filter((e) => {
    if (e === deleteDir) return true;
    const n = /_configure_(\d+)$/.exec(e)?.[1];
    return n !== undefined && e === runDirName(`${lifecycleId}/configure/${n}`);
  });
}

/**
 * Folder names of the configure runs `skip + 1` … `skip + count` before the run `runDir` of the
 * same lifecycle (runDirName keeps one prefix per lifecycle), newest first: the run folders to
 * prune, found by name instead of by listing a folder every object shares (10,000 Resources
 * created at once made that listing quadratic). [] for a folder that is not a configure run.
 */
export function runDirsBefore(runDir: string, skip: number, count: number): string[] {
  const m = /^(.*_configure_)(\d+)$/.exec(runDir);
  if (!m) return [];
  const out: string[] = [];
  for (let n = Number(m[2]) - skip - 1; n >= 1 && out.length < count; n--) out.push(`${m[1]}${n}`);
  return out;
}

/** "Redis team-a/cache" or "Promise redis": for summaries, details and commit messages. */
export function describeRef(ref: ObjectRef): string {
  return isPromiseRef(ref) ? `Promise ${ref.promise}` : `${ref.kind} ${ref.namespace}/${ref.name}`;
}
