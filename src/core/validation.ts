import { promisePermissionProblems } from './permissions.js';
import type { CrdSpec, KratixPromise, Pipeline } from './types.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const WORKFLOW_KEYS = [
  ['resource', 'configure'],
  ['resource', 'delete'],
  ['promise', 'configure'],
  ['promise', 'delete'],
] as const;

/** Checks a Promise before anything is installed. Returns human-readable problems (empty = valid). */
export function validatePromise(promise: KratixPromise): string[] {
  const problems: string[] = [];
  const spec = promise.spec ?? {};
  for (const [type, action] of WORKFLOW_KEYS) {
    const pipelines = spec.workflows?.[type]?.[action];
    if (pipelines === undefined) continue;
    const where = `spec.workflows.${type}.${action}`;
    if (!Array.isArray(pipelines)) {
      problems.push(`${where} must be a list of Pipelines`);
      continue;
    }
    if (action === 'delete' && pipelines.length > 1) {
      problems.push(`${where} accepts exactly one Pipeline, found ${pipelines.length}`);
    }
    problems.push(...validatePipelines(pipelines, where));
  }
  const pipelineNamespace = spec.workflows?.config?.pipelineNamespace;
  if (pipelineNamespace && (!DNS_LABEL.test(pipelineNamespace) || pipelineNamespace.length > 63))
    problems.push(
      `spec.workflows.config.pipelineNamespace "${pipelineNamespace}" is not a valid namespace name (lower-case letters, digits and '-', at most 63)`,
    );
  if (spec.api !== undefined) problems.push(...validateApi(spec.api));
  problems.push(...promisePermissionProblems(promise));
  return problems;
}

function validatePipelines(pipelines: Pipeline[], where: string): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  pipelines.forEach((p, i) => {
    const name = p?.metadata?.name;
    const at = `${where}[${i}]`;
    if (!name) problems.push(`${at}: pipeline has no metadata.name`);
    else if (!DNS_LABEL.test(name)) problems.push(`${at}: pipeline name "${name}" is not a valid DNS label`);
    else if (seen.has(name)) problems.push(`${where}: duplicate pipeline name "${name}"`);
    else seen.add(name);
    const containers = p?.spec?.containers;
    if (!Array.isArray(containers) || containers.length === 0) {
      problems.push(`${at} (${name ?? 'unnamed'}): spec.containers must list at least one container`);
      return;
    }
    const containerNames = new Set<string>();
    containers.forEach((c, j) => {
      const cat = `pipeline "${name ?? i}" container ${j}`;
      if (!c?.name) problems.push(`${cat}: container has no name`);
      else if (containerNames.has(c.name))
        problems.push(`pipeline "${name ?? i}": duplicate container name "${c.name}"`);
      else containerNames.add(c.name);
      if (!c?.image) problems.push(`${cat}${c?.name ? ` (${c.name})` : ''}: container has no image`);
    });
  });
  return problems;
}

function validateApi(api: unknown): string[] {
  const a = api as {
    apiVersion?: string;
    kind?: string;
    metadata?: { name?: string };
    spec?: Partial<CrdSpec>;
  };
  const problems: string[] = [];
  if (a?.apiVersion !== 'apiextensions.k8s.io/v1' || a?.kind !== 'CustomResourceDefinition') {
    return ['spec.api must be an apiextensions.k8s.io/v1 CustomResourceDefinition'];
  }
  const s = a.spec;
  if (!s?.group) problems.push('spec.api.spec.group is required');
  if (!s?.names?.plural || !s?.names?.kind)
    problems.push('spec.api.spec.names.plural and names.kind are required');
  if (!Array.isArray(s?.versions) || s.versions.length === 0)
    problems.push('spec.api.spec.versions must list at least one version');
  else if (s.versions.filter((v) => v.storage).length !== 1)
    problems.push('spec.api.spec.versions must have exactly one storage version');
  if (s?.group && s?.names?.plural && a.metadata?.name !== `${s.names.plural}.${s.group}`) {
    problems.push(
      `spec.api.metadata.name must be "${s.names.plural}.${s.group}", got "${a.metadata?.name ?? ''}"`,
    );
  }
  return problems;
}
