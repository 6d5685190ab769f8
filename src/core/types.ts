import type { V1ManagedFieldsEntry } from '@kubernetes/client-node';
// Types for the API objects kratix-temporal reads and writes. Plain data: safe in workflows.

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  /** Raw JSON carries a string; typed as client-node does so objects interoperate. Only test truthiness. */
  deletionTimestamp?: Date;
  /** The API server's record of which client set which field (server-side apply). */
  managedFields?: V1ManagedFieldsEntry[];
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
  };
}

export interface EnvFromSource {
  prefix?: string;
  secretRef?: { name: string; optional?: boolean };
  configMapRef?: { name: string; optional?: boolean };
}

export interface Container {
  name?: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: EnvFromSource[];
  volumeMounts?: Record<string, unknown>[];
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  securityContext?: Record<string, unknown>;
  /** kubernetes executor: requests/limits as a Pod container has them. */
  resources?: Record<string, unknown>;
  workingDir?: string;
}

export interface PolicyRule {
  apiGroups?: string[];
  verbs: string[];
  resources?: string[];
  resourceNames?: string[];
}

export interface PipelinePermission extends PolicyRule {
  /** unset: the pipeline's namespace; a name: that namespace; "*": cluster-wide. */
  resourceNamespace?: string;
}

export interface Pipeline {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: {
    containers: Container[];
    volumes?: Record<string, unknown>[];
    imagePullSecrets?: { name: string }[];
    rbac?: { serviceAccount?: string; permissions?: PipelinePermission[] };
    /** kubernetes executor (upstream's Pipeline fields): how the Pod runs and retries. */
    restartPolicy?: 'Never' | 'OnFailure';
    jobOptions?: { backoffLimit?: number };
    nodeSelector?: Record<string, string>;
    tolerations?: Record<string, unknown>[];
  };
}

export interface WorkflowPair {
  configure?: Pipeline[];
  delete?: Pipeline[];
}

export interface PromiseSpec {
  api?: KubeObject & { spec?: CrdSpec };
  dependencies?: KubeObject[];
  destinationSelectors?: { matchLabels?: Record<string, string> }[];
  workflows?: {
    config?: { reconciliationInterval?: string; pipelineTimeout?: string; pipelineNamespace?: string };
    resource?: WorkflowPair;
    promise?: WorkflowPair;
  };
}

export interface KratixPromise extends KubeObject {
  spec?: PromiseSpec & Record<string, unknown>;
}

export interface CrdVersion {
  name: string;
  served?: boolean;
  storage?: boolean;
  schema?: { openAPIV3Schema?: Record<string, unknown> };
  subresources?: Record<string, unknown>;
  additionalPrinterColumns?: { name: string; type: string; jsonPath: string; priority?: number }[];
}

export interface CrdSpec {
  group: string;
  scope?: 'Namespaced' | 'Cluster';
  names: { plural: string; singular?: string; kind: string; listKind?: string; shortNames?: string[] };
  versions: CrdVersion[];
}

/** What a workflow needs to find a Resource again; no spec, no secrets. */
export interface ResourceRef {
  promise: string;
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespace: string;
  name: string;
  uid: string;
}

/** A Promise as the subject of its own pipelines. */
export interface PromiseRef {
  type: 'promise';
  promise: string;
  uid: string;
}

/** What a pipeline run works on: a Resource, or a Promise (promise workflows). */
export type ObjectRef = ResourceRef | PromiseRef;

export function isPromiseRef(ref: ObjectRef): ref is PromiseRef {
  return (ref as PromiseRef).type === 'promise';
}

export type WorkflowType = 'resource' | 'promise';
export type WorkflowAction = 'configure' | 'delete';
