// Builds the Pod that runs one pipeline with the kubernetes executor, and reads a Pod's state back.
// Pure: the executor creates and watches these objects. Layout (DESIGN §5):
//   init  kratix-input     our helper: copies the object (from the run Secret) to /kratix/input/object.yaml
//   init  <user containers> in declared order, sharing /kratix/{input,output,metadata}
//   main  kratix-collect   our helper: hands /kratix/output and /kratix/metadata back through the run Secret
import type {
  V1Container,
  V1EnvVar,
  V1Pod,
  V1PodSpec,
  V1Role,
  V1RoleBinding,
  V1Secret,
  V1SecurityContext,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import { MANAGED_BY, MANAGED_BY_LABEL, PROMISE_NAME_LABEL } from './constants.js';
import { fnv1a, shortenName } from './names.js';
import type { PipelineSubject } from './pipeline-factory.js';
import type { ResolvedPipelineSettings } from './pipeline-settings.js';
import type { Pipeline } from './types.js';

export const INPUT_CONTAINER = 'kratix-input';
/** Where every image carrying the helper has it: Node and the bundled src/pipeline-helper. */
export const HELPER_COMMAND = ['/usr/local/bin/node', '/app/pipeline-helper.mjs'];
export const COLLECT_CONTAINER = 'kratix-collect';
export const WORKFLOW_ID_ANNOTATION = 'kratix-temporal.io/workflow-id';
export const RUN_KEY_ANNOTATION = 'kratix-temporal.io/run';
/** Key of the run Secret holding the object the pipeline works on. */
export const OBJECT_KEY = 'object.yaml';
/** Key of the run Secret where the collector leaves the result (gzip'd JSON, see result-bundle). */
export const RESULT_KEY = 'result';

/** What shapes every pipeline Pod beyond the Pipeline itself. */
export type PodSettings = Pick<
  ResolvedPipelineSettings,
  'defaultContainerSecurityContext' | 'defaultResources' | 'defaultImagePullPolicy' | 'resultLimitBytes'
> & { helperImage: string };

/** Our helpers always run restricted (Pod Security "restricted" profile). */
export const RESTRICTED_SECURITY_CONTEXT: V1SecurityContext = {
  runAsNonRoot: true,
  runAsUser: 65532,
  runAsGroup: 65532,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

const HELPER_RESOURCES = {
  requests: { cpu: '10m', memory: '32Mi' },
  limits: { memory: '256Mi' },
};

export interface PipelinePodInput {
  subject: PipelineSubject;
  pipeline: Pipeline;
  namespace: string;
  serviceAccount: string;
  /** Deterministic per (run, pipeline): the Pod name derives from it, so a retry re-attaches. */
  runKey: string;
  workflowId: string;
  baseEnv: Record<string, string>;
  /** KRATIX_TRACE_PARENT/KRATIX_TRACE_STATE for every container (helpers too), when traced. */
  traceEnv?: Record<string, string>;
  withMetadata: boolean;
  settings: PodSettings;
  /** 0 for the first Pod of a run; n for the n-th replacement (backoffLimit with restartPolicy Never). */
  attempt?: number;
}

/**
 * `kratix-<promise>-<object>-<pipeline>-<hash of the run>`: readable like upstream's Job names, and
 * the same on every retry of the activity that starts it (upstream appends random characters).
 */
export function pipelinePodName(
  subject: PipelineSubject,
  pipeline: string,
  runKey: string,
  attempt = 0,
): string {
  const hash = fnv1a(runKey).toString(16).padStart(8, '0');
  const base =
    subject.type === 'promise'
      ? `kratix-${subject.promise}-${pipeline}`
      : `kratix-${subject.promise}-${subject.name}-${pipeline}`;
  const suffix = attempt > 0 ? `${hash}-r${attempt}` : hash;
  const head = base
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, 62 - suffix.length)
    .replace(/-+$/, '');
  return `${head}-${suffix}`;
}

/** Label values are at most 63 characters: longer names keep a hash. */
const labelValue = (v: string) => shortenName(v, 63).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');

/** Upstream's pipeline labels, so `kubectl get pods -l kratix.io/promise-name=<p>` lists the runs. */
export function pipelinePodLabels(subject: PipelineSubject, pipeline: string): Record<string, string> {
  return {
    [MANAGED_BY_LABEL]: MANAGED_BY,
    [PROMISE_NAME_LABEL]: subject.promise,
    'kratix.io/pipeline-name': labelValue(pipeline),
    'kratix.io/workflow-type': subject.type,
    'kratix.io/workflow-action': subject.action,
    ...(subject.type === 'resource'
      ? {
          'kratix.io/resource-name': labelValue(subject.name),
          ...(subject.namespace ? { 'kratix.io/resource-namespace': subject.namespace } : {}),
        }
      : {}),
  };
}

const KRATIX_MOUNTS = (withMetadata: boolean): V1VolumeMount[] => [
  { name: 'kratix-input', mountPath: '/kratix/input' },
  { name: 'kratix-output', mountPath: '/kratix/output' },
  ...(withMetadata ? [{ name: 'kratix-metadata', mountPath: '/kratix/metadata' }] : []),
];

function envList(env: Record<string, string>): V1EnvVar[] {
  return Object.entries(env).map(([name, value]) => ({ name, value }));
}

function userContainer(c: Pipeline['spec']['containers'][number], input: PipelinePodInput): V1Container {
  const { settings } = input;
  const raw = c as Record<string, unknown>;
  const managed = { ...input.traceEnv, ...input.baseEnv };
  const own = (c.env ?? []).filter((e) => !(e.name in managed)) as V1EnvVar[];
  const container: V1Container = {
    name: c.name!,
    image: c.image!,
    // No command: the image's entrypoint runs (upstream pipeline images rely on it).
    ...(c.command ? { command: c.command } : {}),
    ...(c.args ? { args: c.args } : {}),
    // The kubelet resolves value/secretKeyRef/configMapKeyRef/envFrom: no secret value passes
    // through the worker or Temporal. KRATIX_* come last so a container cannot fake them.
    env: [...own, ...envList(managed)],
    ...(c.envFrom ? { envFrom: c.envFrom as V1Container['envFrom'] } : {}),
    volumeMounts: [
      ...((c.volumeMounts ?? []) as unknown as V1VolumeMount[]),
      ...KRATIX_MOUNTS(input.withMetadata),
    ],
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
  const pullPolicy = c.imagePullPolicy ?? settings.defaultImagePullPolicy;
  if (pullPolicy) container.imagePullPolicy = pullPolicy;
  const securityContext = c.securityContext ?? settings.defaultContainerSecurityContext;
  if (securityContext) container.securityContext = securityContext as V1SecurityContext;
  const resources = (raw.resources as Record<string, unknown> | undefined) ?? settings.defaultResources;
  if (resources) container.resources = resources as V1Container['resources'];
  for (const field of ['workingDir', 'ports', 'livenessProbe', 'readinessProbe', 'stdin', 'tty'] as const) {
    if (raw[field] !== undefined) (container as unknown as Record<string, unknown>)[field] = raw[field];
  }
  return container;
}

function helperContainer(
  name: string,
  args: string[],
  mounts: V1VolumeMount[],
  settings: PodSettings,
  env: V1EnvVar[] = [],
): V1Container {
  return {
    name,
    image: settings.helperImage,
    imagePullPolicy: 'IfNotPresent',
    // Explicit, so the helper image and the all-in-one kratix-temporal image both work.
    command: HELPER_COMMAND,
    args,
    env,
    volumeMounts: mounts,
    securityContext: RESTRICTED_SECURITY_CONTEXT,
    resources: HELPER_RESOURCES,
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
}

/** The Pod of one pipeline run (see the layout at the top of this file). */
export function buildPipelinePod(input: PipelinePodInput): V1Pod {
  const { pipeline, settings, subject } = input;
  const name = pipelinePodName(subject, pipeline.metadata.name, input.runKey, input.attempt);
  const spec = pipeline.spec as Pipeline['spec'] & Record<string, unknown>;
  const restartPolicy = spec.restartPolicy === 'OnFailure' ? 'OnFailure' : 'Never';
  const volumes: V1Volume[] = [
    { name: 'kratix-input', emptyDir: {} },
    { name: 'kratix-output', emptyDir: {} },
    ...(input.withMetadata ? [{ name: 'kratix-metadata', emptyDir: {} }] : []),
    { name: 'kratix-run', secret: { secretName: name, items: [{ key: OBJECT_KEY, path: OBJECT_KEY }] } },
    ...((spec.volumes ?? []) as unknown as V1Volume[]),
  ];
  const podSpec: V1PodSpec = {
    serviceAccountName: input.serviceAccount,
    // A projected, short-lived token: in-pod kubectl has exactly the pipeline's RBAC.
    automountServiceAccountToken: true,
    restartPolicy,
    enableServiceLinks: false,
    volumes,
    initContainers: [
      helperContainer(
        INPUT_CONTAINER,
        ['input'],
        [
          { name: 'kratix-run', mountPath: '/kratix/run', readOnly: true },
          ...KRATIX_MOUNTS(input.withMetadata),
        ],
        settings,
        envList(input.traceEnv ?? {}),
      ),
      ...pipeline.spec.containers.map((c) => userContainer(c, input)),
    ],
    containers: [
      helperContainer(COLLECT_CONTAINER, ['collect'], KRATIX_MOUNTS(input.withMetadata), settings, [
        { name: 'KRATIX_RESULT_SECRET', value: name },
        { name: 'KRATIX_RESULT_LIMIT_BYTES', value: String(settings.resultLimitBytes) },
        ...envList(input.traceEnv ?? {}),
      ]),
    ],
  };
  if (pipeline.spec.imagePullSecrets?.length) podSpec.imagePullSecrets = pipeline.spec.imagePullSecrets;
  if (spec.nodeSelector) podSpec.nodeSelector = spec.nodeSelector as Record<string, string>;
  if (spec.tolerations) podSpec.tolerations = spec.tolerations as V1PodSpec['tolerations'];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: input.namespace,
      labels: { ...(pipeline.metadata.labels ?? {}), ...pipelinePodLabels(subject, pipeline.metadata.name) },
      annotations: {
        ...(pipeline.metadata.annotations ?? {}),
        [WORKFLOW_ID_ANNOTATION]: input.workflowId,
        [RUN_KEY_ANNOTATION]: input.runKey,
      },
    },
    spec: podSpec,
  };
}

/** The run Secret: the object going in, the result coming out. Owned by the Pod once it exists. */
export function buildRunSecret(pod: V1Pod, objectYaml: string): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: pod.metadata!.name!,
      namespace: pod.metadata!.namespace!,
      labels: pod.metadata!.labels,
    },
    type: 'Opaque',
    stringData: { [OBJECT_KEY]: objectYaml },
  };
}

/**
 * The only write a pipeline Pod may make: its own run Secret, by name. Pipeline containers share
 * the Pod's ServiceAccount, so they could write it too, but only to report their own output.
 */
export function buildResultAccess(pod: V1Pod): { role: V1Role; binding: V1RoleBinding } {
  const { name, namespace, labels, uid } = pod.metadata!;
  const owner = [{ apiVersion: 'v1', kind: 'Pod', name: name!, uid: uid!, blockOwnerDeletion: false }];
  const metadata = { name: name!, namespace: namespace!, labels, ownerReferences: owner };
  return {
    role: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata,
      rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: [name!], verbs: ['get', 'patch'] }],
    },
    binding: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: name! },
      subjects: [{ kind: 'ServiceAccount', name: pod.spec!.serviceAccountName!, namespace: namespace! }],
    },
  };
}

/** What a Pod's state means for the run. */
export type PodState =
  | { kind: 'running'; container?: string; index?: number }
  | { kind: 'pending'; reason: string; message: string; fatal: boolean }
  | { kind: 'succeeded' }
  | {
      kind: 'failed';
      container: string;
      /** Index among the user containers; -1 for our helpers. */
      index: number;
      exitCode: number | null;
      message: string;
      /** Container restarts so far (restartPolicy OnFailure). */
      restarts?: number;
    };

/** Waiting reasons that need a person (or a registry) before the Pod can go on. */
const PROBLEM_REASONS = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'ErrImageNeverPull',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);
/** Waiting reasons that never resolve by waiting. */
const FATAL_REASONS = new Set(['ErrImageNeverPull', 'InvalidImageName']);

/**
 * Reads a pipeline Pod: which user container runs, whether it is stuck (image, config, scheduling),
 * or how it ended. `userContainers` are the names of the Pipeline's containers in order.
 */
export function podState(pod: V1Pod, userContainers: string[], backoffLimit = 0): PodState {
  const status = pod.status ?? {};
  const inits = status.initContainerStatuses ?? [];
  const all = [...inits, ...(status.containerStatuses ?? [])];
  const indexOf = (name: string) => userContainers.indexOf(name);

  if (status.phase === 'Succeeded') return { kind: 'succeeded' };
  if (status.phase === 'Failed') {
    const failed = all.find((c) => c.state?.terminated && c.state.terminated.exitCode !== 0);
    const t = failed?.state?.terminated;
    return {
      kind: 'failed',
      container: failed?.name ?? 'unknown',
      index: failed ? indexOf(failed.name) : -1,
      exitCode: t?.exitCode ?? null,
      message: (t?.message ?? t?.reason ?? status.message ?? status.reason ?? 'Pod failed').trim(),
    };
  }
  // restartPolicy OnFailure: the kubelet restarts a failed container in place; like a Job, fail
  // once the restarts exceed backoffLimit.
  for (const c of all) {
    const last = c.lastState?.terminated;
    if (last && last.exitCode !== 0 && c.restartCount > backoffLimit) {
      return {
        kind: 'failed',
        container: c.name,
        index: indexOf(c.name),
        exitCode: last.exitCode,
        message: (last.message ?? last.reason ?? '').trim(),
        restarts: c.restartCount,
      };
    }
  }
  for (const c of all) {
    const w = c.state?.waiting;
    if (w?.reason && PROBLEM_REASONS.has(w.reason)) {
      return {
        kind: 'pending',
        reason: w.reason,
        message: `container "${c.name}" (${c.image}): ${w.reason}${w.message ? `: ${w.message}` : ''}`,
        fatal: FATAL_REASONS.has(w.reason),
      };
    }
  }
  const scheduled = status.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return {
      kind: 'pending',
      reason: 'Unschedulable',
      message: `Pod cannot be scheduled: ${scheduled.message ?? 'no node fits'}`,
      fatal: false,
    };
  }
  const running = inits.find((c) => c.state?.running) ?? inits.find((c) => !c.state?.terminated);
  if (running && indexOf(running.name) >= 0)
    return { kind: 'running', container: running.name, index: indexOf(running.name) };
  return { kind: 'running' };
}
