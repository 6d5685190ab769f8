// Builds what a pipeline run needs from a Promise: which pipelines, their env and identity (RBAC).
// Pure: the activities apply these objects; the executors run them.
import {
  KRATIX_GROUP,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  PLATFORM_NAMESPACE,
  PROMISE_NAME_LABEL,
} from './constants.js';
import { nonResourceOnly } from './permissions.js';
import { pipelineClusterRoleName, pipelineRoleName, pipelineServiceAccountName } from './names.js';
import { stringify } from 'yaml';
import type {
  KratixPromise,
  KubeObject,
  Pipeline,
  PolicyRule,
  WorkflowAction,
  WorkflowType,
} from './types.js';

export function pipelinesFor(promise: KratixPromise, type: WorkflowType, action: WorkflowAction): Pipeline[] {
  const list = promise.spec?.workflows?.[type]?.[action] ?? [];
  return action === 'delete' ? list.slice(0, 1) : list;
}

/**
 * /kratix/input/object.yaml: the object as `kubectl get -o yaml` shows it, which is what upstream's
 * reader container writes, so without metadata.managedFields (bookkeeping of the API server that
 * no pipeline reads; often half the object, and the largest cost of writing it out).
 */
export function pipelineInputYaml(obj: KubeObject): string {
  const { managedFields: _, ...metadata } = obj.metadata;
  return stringify({ ...obj, metadata });
}

/** The object a pipeline works on, as the env vars and RBAC describe it. */
export interface PipelineSubject {
  promise: string;
  type: WorkflowType;
  action: WorkflowAction;
  group: string;
  version: string;
  kind: string;
  plural: string;
  name: string;
  /** The object's namespace; undefined for cluster-scoped objects (Promises). */
  namespace?: string;
  /** The Promise's `spec.workflows.config.pipelineNamespace` (upstream): where its pipelines run. */
  pipelineNamespace?: string;
}

/**
 * Where a pipeline runs: the Promise's `workflows.config.pipelineNamespace` when set (as upstream,
 * for promise and resource workflows), else the resource's namespace, or kratix-platform-system
 * for promise workflows.
 */
export function pipelineNamespace(subject: PipelineSubject): string {
  if (subject.pipelineNamespace) return subject.pipelineNamespace;
  return subject.type === 'resource' && subject.namespace ? subject.namespace : PLATFORM_NAMESPACE;
}

/** The subject with the Promise's pipelineNamespace applied. */
export function withPipelineNamespace(subject: PipelineSubject, promise: KratixPromise): PipelineSubject {
  const ns = promise.spec?.workflows?.config?.pipelineNamespace;
  return ns ? { ...subject, pipelineNamespace: ns } : subject;
}

/** DESIGN §3 env: Kratix names plus upstream's KRATIX_OBJECT_* so upstream pipeline images work. */
export function pipelineEnv(subject: PipelineSubject, pipeline: string): Record<string, string> {
  return {
    KRATIX_WORKFLOW_ACTION: subject.action,
    KRATIX_OPERATION: subject.action,
    KRATIX_WORKFLOW_TYPE: subject.type,
    KRATIX_PROMISE_NAME: subject.promise,
    KRATIX_PIPELINE_NAME: pipeline,
    KRATIX_OBJECT_KIND: subject.kind,
    KRATIX_OBJECT_GROUP: subject.group,
    KRATIX_OBJECT_VERSION: subject.version,
    KRATIX_OBJECT_NAME: subject.name,
    KRATIX_OBJECT_NAMESPACE: subject.namespace ?? '',
    KRATIX_CRD_PLURAL: subject.plural,
    KRATIX_CLUSTER_SCOPED: subject.namespace ? 'false' : 'true',
  };
}

interface Meta {
  name: string;
  namespace?: string;
  labels: Record<string, string>;
}
export interface RoleObject {
  metadata: Meta;
  rules: PolicyRule[];
}
export interface BindingObject {
  metadata: Meta;
  roleRef: { apiGroup: 'rbac.authorization.k8s.io'; kind: 'Role' | 'ClusterRole'; name: string };
  subjects: { kind: 'ServiceAccount'; name: string; namespace: string }[];
}

export interface PipelineIdentity {
  serviceAccount: { name: string; namespace: string; labels: Record<string, string> };
  /** True when the Promise names its own ServiceAccount: created if missing, never modified. */
  customServiceAccount: boolean;
  roles: RoleObject[];
  roleBindings: BindingObject[];
  clusterRoles: RoleObject[];
  clusterRoleBindings: BindingObject[];
}

function normaliseRule(p: PolicyRule): PolicyRule {
  const rule: PolicyRule = { apiGroups: p.apiGroups ?? [''], resources: p.resources ?? [], verbs: p.verbs };
  const names = p.resourceNames ?? (p as { resourceName?: string[] }).resourceName; // seed 002 spells it resourceName
  if (names?.length) rule.resourceNames = names;
  return rule;
}

/**
 * The ServiceAccount, Roles, ClusterRoles and bindings of one pipeline (seed 002, three cases):
 * no resourceNamespace → Role + RoleBinding in the pipeline namespace; a namespace X → ClusterRole
 * bound by a RoleBinding in X; "*" → ClusterRole + ClusterRoleBinding. Plus the default rule that
 * lets a pipeline read (and patch the status of) the kind it works on.
 */
export function pipelineIdentity(subject: PipelineSubject, pipeline: Pipeline): PipelineIdentity {
  const ns = pipelineNamespace(subject);
  const custom = pipeline.spec.rbac?.serviceAccount || undefined; // "" is unset, as upstream
  const saName =
    custom ??
    pipelineServiceAccountName(subject.promise, subject.type, subject.action, pipeline.metadata.name);
  const labels = {
    [MANAGED_BY_LABEL]: MANAGED_BY,
    [PROMISE_NAME_LABEL]: subject.promise,
    'kratix.io/pipeline-name': pipeline.metadata.name,
    'kratix.io/workflow-type': subject.type,
    'kratix.io/workflow-action': subject.action,
  };
  const subjects = [{ kind: 'ServiceAccount' as const, name: saName, namespace: ns }];
  const baseName = pipelineRoleName(saName);
  const defaultRules: PolicyRule[] =
    subject.type === 'promise'
      ? [
          {
            apiGroups: [KRATIX_GROUP],
            resources: ['promises', 'promises/status'],
            verbs: ['get', 'list', 'watch'],
          },
        ]
      : [
          {
            apiGroups: [subject.group],
            resources: [subject.plural, `${subject.plural}/status`],
            verbs: ['get', 'list', 'watch'],
          },
        ];
  const identity: PipelineIdentity = {
    serviceAccount: { name: saName, namespace: ns, labels },
    customServiceAccount: custom !== undefined,
    roles: [],
    roleBindings: [],
    clusterRoles: [],
    clusterRoleBindings: [],
  };
  const bind = (
    kind: 'Role' | 'ClusterRole',
    name: string,
    namespace?: string,
    bindingName = name,
  ): BindingObject => ({
    metadata: { name: bindingName, ...(namespace ? { namespace } : {}), labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind, name },
    subjects,
  });

  // Default access to the pipeline's own object: promise objects are cluster-scoped.
  if (subject.type === 'promise') {
    const name = pipelineClusterRoleName(saName, ns, 'default');
    identity.clusterRoles.push({ metadata: { name, labels }, rules: defaultRules });
    identity.clusterRoleBindings.push(bind('ClusterRole', name));
  }

  // A Resource's pipeline running elsewhere (pipelineNamespace) still reads its own object, which
  // lives in the Resource's namespace: the default rule goes there.
  const away = subject.type === 'resource' && !!subject.namespace && subject.namespace !== ns;
  if (away) {
    identity.roles.push({
      metadata: { name: baseName, namespace: subject.namespace, labels },
      rules: defaultRules,
    });
    identity.roleBindings.push(bind('Role', baseName, subject.namespace));
  }
  const permissions = (pipeline.spec.rbac?.permissions ?? []).filter((p) => !nonResourceOnly(p));
  const local = permissions.filter((p) => !p.resourceNamespace);
  const localRules = [
    ...(subject.type === 'resource' && !away ? defaultRules : []),
    ...local.map(normaliseRule),
  ];
  if (localRules.length > 0) {
    identity.roles.push({ metadata: { name: baseName, namespace: ns, labels }, rules: localRules });
    identity.roleBindings.push(bind('Role', baseName, ns));
  }
  const byScope = new Map<string, PolicyRule[]>();
  for (const p of permissions) {
    if (!p.resourceNamespace) continue;
    byScope.set(p.resourceNamespace, [...(byScope.get(p.resourceNamespace) ?? []), normaliseRule(p)]);
  }
  for (const [scope, rules] of byScope) {
    const name = pipelineClusterRoleName(saName, ns, scope);
    identity.clusterRoles.push({ metadata: { name, labels }, rules });
    if (scope === '*') identity.clusterRoleBindings.push(bind('ClusterRole', name));
    else identity.roleBindings.push(bind('ClusterRole', name, scope, pipelineRoleName(`${saName}-${ns}`)));
  }
  return identity;
}
