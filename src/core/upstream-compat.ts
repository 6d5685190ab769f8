// Upstream Kratix v1alpha1 fields that the CRDs accept (so upstream manifests apply unchanged) but
// that kratix-temporal does not act on yet. Pure: the activities and the controller report the
// list on the object (condition + Warning Event) instead of ignoring the fields silently.

/** The condition that names accepted-but-ignored fields; absent (or False) when there are none. */
export const UNSUPPORTED_CONDITION = 'UnsupportedFields';
export const UNSUPPORTED_REASON = 'FieldsNotSupported';

/** Pipeline metadata fields a pipeline run uses; the rest of an ObjectMeta is accepted and ignored. */
const PIPELINE_METADATA = new Set(['name', 'namespace', 'labels', 'annotations']);
const WORKFLOWS = [
  ['resource', 'configure'],
  ['resource', 'delete'],
  ['promise', 'configure'],
  ['promise', 'delete'],
] as const;

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const present = (v: unknown) =>
  v !== undefined &&
  v !== null &&
  !(Array.isArray(v) && v.length === 0) &&
  !(isMap(v) && !Object.keys(v).length);

/**
 * Paths of the upstream fields present in a Promise that have no effect here, e.g.
 * `spec.workflows.resource.configure[0].metadata.ownerReferences`.
 */
export function unsupportedPromiseFields(promise: { spec?: Record<string, unknown> }): string[] {
  const spec = promise.spec ?? {};
  const out: string[] = [];
  const workflows = isMap(spec.workflows) ? spec.workflows : {};
  for (const [type, action] of WORKFLOWS) {
    const byType = workflows[type];
    const list = isMap(byType) ? byType[action] : undefined;
    if (!Array.isArray(list)) continue;
    list.forEach((p: unknown, i) => {
      if (!isMap(p)) return;
      const at = `spec.workflows.${type}.${action}[${i}]`;
      const meta = isMap(p.metadata) ? p.metadata : {};
      for (const k of Object.keys(meta).sort())
        if (!PIPELINE_METADATA.has(k) && present(meta[k])) out.push(`${at}.metadata.${k}`);
      const pspec = isMap(p.spec) ? p.spec : {};
      const rbac = isMap(pspec.rbac) ? pspec.rbac : {};
      const permissions = Array.isArray(rbac.permissions) ? rbac.permissions : [];
      permissions.forEach((perm: unknown, j) => {
        if (isMap(perm) && present(perm.nonResourceURLs))
          out.push(`${at}.spec.rbac.permissions[${j}].nonResourceURLs`);
      });
    });
  }
  return out;
}

/** Paths of the upstream fields present in a Destination that have no effect here. */
export function unsupportedDestinationFields(destination: { spec?: Record<string, unknown> }): string[] {
  const spec = destination.spec ?? {};
  const out: string[] = [];
  // Upstream writes canary files (a Namespace and a ConfigMap) when enabled; nothing is written here.
  const init = spec.initWorkloads;
  if (isMap(init) && init.enabled === true) out.push('spec.initWorkloads.enabled');
  return out;
}

/** The message of the condition and Event for `fields` (non-empty). */
export function unsupportedMessage(fields: string[]): string {
  return `Accepted but not supported yet, so they have no effect: ${fields.join(', ')}`;
}
