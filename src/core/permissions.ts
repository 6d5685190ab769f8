// Pipeline permissions (`spec.rbac.permissions` of a Pipeline): what the API server would reject,
// checked before anything is applied, and the platform's optional policy on what a Promise may ask
// for (`pipelinePermissions` in the `kratix` ConfigMap). Pure: unit-tested, usable anywhere.
import type { KratixPromise, Pipeline, PipelinePermission } from './types.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const WORKFLOW_KEYS = [
  ['resource', 'configure'],
  ['resource', 'delete'],
  ['promise', 'configure'],
  ['promise', 'delete'],
] as const;

/**
 * The platform's limit on pipeline permissions (ConfigMap kratix, key `config`,
 * `pipelinePermissions`). Every field is optional and an unset field allows anything, so the
 * default (no policy) grants what a Promise asks for, as upstream Kratix does. `"*"` in a list
 * allows anything for that field; a rule asking for `"*"` needs `"*"` in the list.
 */
export interface PipelinePermissionsPolicy {
  /** API groups a rule may name (`""` is the core group, the default of a rule without apiGroups). */
  allowedApiGroups?: string[];
  /** Resources a rule may name, subresources spelled out (`pods/log`). */
  allowedResources?: string[];
  allowedVerbs?: string[];
  /** `resourceNamespace: "*"` (a ClusterRole bound cluster-wide); default true. */
  allowClusterWide?: boolean;
  /** Namespaces a permission may name in `resourceNamespace` (other than `"*"`); default any. */
  allowedResourceNamespaces?: string[];
}

function pipelinesOf(promise: KratixPromise): { where: string; pipeline: Pipeline }[] {
  const out: { where: string; pipeline: Pipeline }[] = [];
  for (const [type, action] of WORKFLOW_KEYS) {
    const list = promise.spec?.workflows?.[type]?.[action];
    if (!Array.isArray(list)) continue;
    list.forEach((pipeline, i) => {
      if (pipeline?.spec) out.push({ where: `spec.workflows.${type}.${action}[${i}]`, pipeline });
    });
  }
  return out;
}

const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/**
 * What the API server would refuse in one pipeline's `rbac.permissions` (HTTP 422 on the Role or
 * binding): empty verbs or resources, non-string entries, an invalid resourceNamespace.
 */
export function permissionRuleProblems(pipeline: Pipeline, where: string): string[] {
  const rbac = pipeline.spec?.rbac as { permissions?: unknown; serviceAccount?: unknown } | undefined;
  if (!rbac) return [];
  const problems: string[] = [];
  const name = pipeline.metadata?.name ?? 'unnamed';
  // "" means unset, as upstream (Go's empty string): a ServiceAccount is created.
  if (rbac.serviceAccount !== undefined && typeof rbac.serviceAccount !== 'string')
    problems.push(`${where} (${name}): rbac.serviceAccount must be a string`);
  if (rbac.permissions === undefined) return problems;
  if (!Array.isArray(rbac.permissions))
    return [...problems, `${where} (${name}): rbac.permissions must be a list`];
  (rbac.permissions as unknown[]).forEach((raw, i) => {
    const at = `${where} (${name}) rbac.permissions[${i}]`;
    const p = raw as Partial<PipelinePermission> | null;
    if (!p || typeof p !== 'object') {
      problems.push(`${at} must be a map with verbs and resources`);
      return;
    }
    if (!isStringList(p.verbs) || p.verbs.length === 0 || p.verbs.some((v) => !v))
      problems.push(`${at}: verbs must list at least one verb`);
    // Upstream's non-resource rule (nonResourceURLs only) is accepted; it is reported as not
    // supported and granted nothing (see upstream-compat.ts).
    if (nonResourceOnly(p)) return;
    if (!isStringList(p.resources) || p.resources.length === 0 || p.resources.some((r) => !r))
      problems.push(`${at}: resources must list at least one resource`);
    if (p.apiGroups !== undefined && (!isStringList(p.apiGroups) || p.apiGroups.length === 0))
      problems.push(`${at}: apiGroups must list at least one group ("" is the core group) or be left out`);
    if (p.resourceNames !== undefined && !isStringList(p.resourceNames))
      problems.push(`${at}: resourceNames must be a list of names`);
    const ns = p.resourceNamespace;
    if (ns !== undefined && (typeof ns !== 'string' || (ns !== '*' && !DNS_LABEL.test(ns))))
      problems.push(`${at}: resourceNamespace must be a namespace name or "*", got ${JSON.stringify(ns)}`);
  });
  return problems;
}

/** Every pipeline's permission problems (see permissionRuleProblems). */
export function promisePermissionProblems(promise: KratixPromise): string[] {
  return pipelinesOf(promise).flatMap(({ where, pipeline }) => permissionRuleProblems(pipeline, where));
}

function outside(asked: string[], allowed: string[] | undefined): string[] {
  if (!Array.isArray(allowed) || allowed.includes('*')) return [];
  return asked.filter((a) => !allowed.includes(a));
}

const show = (xs: string[]) => xs.map((x) => JSON.stringify(x)).join(', ');

/** What one pipeline asks for beyond the policy (empty: allowed). */
export function pipelinePermissionDenials(
  pipeline: Pipeline,
  policy: PipelinePermissionsPolicy | undefined,
  where = `pipeline "${pipeline.metadata?.name}"`,
): string[] {
  if (!policy || typeof policy !== 'object') return [];
  const permissions = pipeline.spec?.rbac?.permissions;
  if (!Array.isArray(permissions)) return [];
  const denials: string[] = [];
  permissions.forEach((p, i) => {
    const at = `${where} rbac.permissions[${i}]`;
    const groups = outside(p.apiGroups ?? [''], policy.allowedApiGroups);
    if (groups.length) denials.push(`${at}: API group(s) ${show(groups)} not allowed`);
    const resources = outside(p.resources ?? [], policy.allowedResources);
    if (resources.length) denials.push(`${at}: resource(s) ${show(resources)} not allowed`);
    const verbs = outside(p.verbs ?? [], policy.allowedVerbs);
    if (verbs.length) denials.push(`${at}: verb(s) ${show(verbs)} not allowed`);
    const ns = p.resourceNamespace;
    if (ns === '*' && policy.allowClusterWide === false)
      denials.push(`${at}: cluster-wide permissions (resourceNamespace "*") not allowed`);
    else if (ns && ns !== '*' && outside([ns], policy.allowedResourceNamespaces).length)
      denials.push(`${at}: resourceNamespace "${ns}" not allowed`);
  });
  return denials;
}

/** Everything a Promise's pipelines ask for beyond the policy (empty: allowed). */
export function promisePermissionDenials(
  promise: KratixPromise,
  policy: PipelinePermissionsPolicy | undefined,
): string[] {
  return pipelinesOf(promise).flatMap(({ where, pipeline }) =>
    pipelinePermissionDenials(pipeline, policy, `${where} (${pipeline.metadata?.name ?? 'unnamed'})`),
  );
}

/** The message a refusal carries: what was asked beyond the policy, and where the policy lives. */
export function permissionsNotAllowedMessage(denials: string[]): string {
  return `${denials.join('; ')} (by pipelinePermissions in ConfigMap kratix-platform-system/kratix)`;
}

/** A rule that names only nonResourceURLs (upstream accepts it; no Role can hold it here). */
export function nonResourceOnly(p: unknown): boolean {
  const r = p as { nonResourceURLs?: unknown; resources?: unknown };
  return Array.isArray(r?.nonResourceURLs) && r.nonResourceURLs.length > 0 && r.resources === undefined;
}
