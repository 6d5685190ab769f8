import * as k8s from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import {
  buildPipelinePod,
  buildResultAccess,
  buildRunSecret,
  COLLECT_CONTAINER,
  INPUT_CONTAINER,
  pipelinePodLabels,
  podState,
  RESULT_KEY,
  type PodState,
} from '../core/pipeline-pod.js';
import { describeApiError, isConflict, isNotFound, type Kube } from '../kube/client.js';
import { logger } from '../logger.js';
import { decodeResult } from './pipeline-files.js';
import type { PipelineExecutor, PipelineRunOutcome, PipelineRunRequest } from './types.js';

/** How often the run state is re-checked without a watch event (pending timeout, heartbeats). */
const TICK_MS = 2_000;
/** A watch is re-opened at least this often, so a silently dead connection costs little. */
const WATCH_TIMEOUT_S = 60;
const LOG_TAIL_CHARS = 600;

export interface KubernetesExecutorOptions {
  /** The image of our input/collect helper containers. */
  helperImage: string;
}

type Terminal = Extract<PodState, { kind: 'succeeded' | 'failed' }> & { pod: V1Pod };

/**
 * Runs each pipeline as one Pod: our helper writes /kratix/input/object.yaml, the Pipeline's
 * containers run as init containers in order, our collector hands /kratix/output and
 * /kratix/metadata back through the run's Secret. The Pod name derives from the run, so a retried
 * activity (worker killed, Temporal outage) finds and waits for the Pod it started: the Pod is the
 * unit of resume. Waiting is a watch; Pod problems (image pull, scheduling, a missing Secret)
 * reach the object through `onPending` within seconds.
 */
export class KubernetesExecutor implements PipelineExecutor {
  readonly name = 'kubernetes';

  constructor(
    private readonly kube: Kube,
    private readonly opts: KubernetesExecutorOptions,
  ) {}

  async run(req: PipelineRunRequest): Promise<PipelineRunOutcome> {
    const restartNever = (req.pipeline.spec as { restartPolicy?: string }).restartPolicy !== 'OnFailure';
    for (let attempt = 0; ; attempt++) {
      const end = await this.runPod(req, attempt);
      await this.prune(req).catch((err: unknown) =>
        logger.warn({ err: describeApiError(err) }, 'could not remove old pipeline Pods'),
      );
      if (end.kind === 'succeeded') return this.result(end.pod);
      // restartPolicy Never: a Job-like backoffLimit means replacement Pods.
      if (restartNever && end.index >= 0 && attempt < req.settings.backoffLimit) continue;
      return this.failure(end);
    }
  }

  private podFor(req: PipelineRunRequest, attempt: number): V1Pod {
    return buildPipelinePod({
      subject: req.subject,
      pipeline: req.pipeline,
      namespace: req.namespace,
      serviceAccount: req.serviceAccount,
      runKey: req.runKey,
      workflowId: req.workflowId,
      baseEnv: req.baseEnv,
      traceEnv: req.traceEnv,
      withMetadata: req.withMetadata,
      attempt,
      settings: { ...req.settings, helperImage: this.opts.helperImage },
    });
  }

  /** Starts the Pod of this attempt, or finds the one an earlier try of the activity started. */
  private async runPod(req: PipelineRunRequest, attempt: number): Promise<Terminal> {
    const wanted = this.podFor(req, attempt);
    const { name, namespace } = wanted.metadata as { name: string; namespace: string };
    let pod = await this.readPod(namespace, name);
    if (!pod) {
      // The Secret first: the Pod mounts it, and the kubelet would otherwise wait for it.
      await this.createIfMissing(() =>
        this.kube.core.createNamespacedSecret({ namespace, body: buildRunSecret(wanted, req.objectYaml) }),
      );
      try {
        pod = await this.kube.core.createNamespacedPod({ namespace, body: wanted });
      } catch (err) {
        if (!isConflict(err)) throw err;
        pod = (await this.readPod(namespace, name))!;
      }
    }
    await this.ensureResultAccess(pod);
    return this.waitForEnd(req, pod);
  }

  /** The collector's write access (a Role for its one Secret), and Pod ownership of the Secret. */
  private async ensureResultAccess(pod: V1Pod): Promise<void> {
    const { role, binding } = buildResultAccess(pod);
    const namespace = pod.metadata!.namespace!;
    await this.createIfMissing(() => this.kube.rbac.createNamespacedRole({ namespace, body: role }));
    await this.createIfMissing(() =>
      this.kube.rbac.createNamespacedRoleBinding({ namespace, body: binding }),
    );
    // Owned by the Pod, the Secret, Role and binding go when the Pod goes (retention, cancellation).
    await this.kube.core.patchNamespacedSecret(
      {
        name: pod.metadata!.name!,
        namespace,
        body: { metadata: { ownerReferences: role.metadata!.ownerReferences } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  }

  private async createIfMissing(create: () => Promise<unknown>): Promise<void> {
    try {
      await create();
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }

  private async readPod(namespace: string, name: string): Promise<V1Pod | undefined> {
    try {
      return await this.kube.core.readNamespacedPod({ name, namespace });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async deletePod(namespace: string, name: string): Promise<void> {
    try {
      await this.kube.core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /**
   * Follows the Pod with a watch (re-opened when it ends) until it succeeds or fails, reporting
   * progress and pending problems; a Pod pending past the timeout, or cancellation, deletes it.
   */
  private async waitForEnd(req: PipelineRunRequest, first: V1Pod): Promise<Terminal> {
    const { name, namespace } = first.metadata as { name: string; namespace: string };
    const userContainers = req.pipeline.spec.containers.map((c) => c.name!);
    let latest = first;
    let wake: () => void = () => {};
    let watchAbort: AbortController | undefined;
    let watchOpen = false;
    let stopped = false;
    const openWatch = async () => {
      if (stopped || watchOpen) return;
      watchOpen = true;
      try {
        watchAbort = await new k8s.Watch(this.kube.kc).watch(
          `/api/v1/namespaces/${namespace}/pods`,
          {
            fieldSelector: `metadata.name=${name}`,
            resourceVersion: latest.metadata?.resourceVersion,
            timeoutSeconds: WATCH_TIMEOUT_S,
          },
          (type: string, obj: V1Pod) => {
            if (type === 'ADDED' || type === 'MODIFIED') latest = obj;
            if (type === 'DELETED') latest = { ...obj, status: { ...obj.status, phase: 'Deleted' } };
            wake();
          },
          () => {
            watchOpen = false;
            wake();
          },
        );
      } catch {
        watchOpen = false; // re-opened on the next tick; the tick also re-reads the Pod
      }
    };
    const onAbort = () => wake();
    req.signal.addEventListener('abort', onAbort);
    let pendingSince: number | undefined;
    try {
      for (let tick = 0; ; tick++) {
        if (req.signal.aborted) {
          // Abandoned (timed out, worker stopping): the Pod runs on for the retry to re-attach.
          if (!req.cancelRequested())
            throw new Error(`pipeline attempt abandoned; Pod ${namespace}/${name} left running`);
          await this.deletePod(namespace, name);
          throw new Error(`pipeline run cancelled; Pod ${namespace}/${name} deleted`);
        }
        if (!watchOpen) {
          // A (re)opened watch starts from a fresh read: nothing between two watches is missed.
          if (tick > 0) latest = (await this.readPod(namespace, name)) ?? markDeleted(latest);
          await openWatch();
        }
        if (latest.status?.phase === 'Deleted')
          throw new Error(`pipeline Pod ${namespace}/${name} was deleted while it ran`);
        const state = podState(latest, userContainers, req.settings.backoffLimit);
        if (state.kind === 'succeeded' || state.kind === 'failed') {
          if (state.kind === 'failed' && latest.status?.phase !== 'Failed')
            await this.deletePod(namespace, name);
          return { ...state, pod: latest };
        }
        if (state.kind === 'pending') {
          pendingSince ??= Date.now();
          await req.onPending({ reason: state.reason, message: state.message });
          const waited = Date.now() - pendingSince;
          if (state.fatal || waited > req.settings.pendingTimeoutMs) {
            await this.deletePod(namespace, name);
            return {
              kind: 'failed',
              container: '',
              index: -1,
              exitCode: null,
              message: state.fatal
                ? state.message
                : `${state.message} (still waiting after ${Math.round(waited / 1000)} s, the pending timeout; Pod deleted)`,
              pod: latest,
            };
          }
        } else {
          pendingSince = undefined;
          if (state.container !== undefined)
            req.onProgress({ container: state.container, index: state.index! });
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, TICK_MS);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    } finally {
      stopped = true;
      req.signal.removeEventListener('abort', onAbort);
      watchAbort?.abort();
    }
  }

  private async result(pod: V1Pod): Promise<PipelineRunOutcome> {
    const { name, namespace } = pod.metadata as { name: string; namespace: string };
    const secret = await this.kube.core.readNamespacedSecret({ name, namespace });
    const packed = secret.data?.[RESULT_KEY];
    if (!packed)
      return {
        ok: false,
        container: COLLECT_CONTAINER,
        index: -1,
        exitCode: null,
        message: `the collector of Pod ${namespace}/${name} finished without handing back a result`,
      };
    return { ok: true, files: decodeResult(Buffer.from(packed, 'base64')) };
  }

  private async failure(end: Extract<Terminal, { kind: 'failed' }>): Promise<PipelineRunOutcome> {
    const { name, namespace } = end.pod.metadata as { name: string; namespace: string };
    const ours = end.container === INPUT_CONTAINER || end.container === COLLECT_CONTAINER;
    if (end.index < 0) {
      // Our helpers' termination message is the whole story (size limit, symlink, API access).
      const detail = ours ? `${end.container}: ${end.message || `exit code ${end.exitCode}`}` : end.message;
      return { ok: false, container: end.container, index: -1, exitCode: null, message: detail };
    }
    const logTail = await this.logTail(namespace, name, end.container, end.restarts !== undefined);
    return {
      ok: false,
      container: end.container,
      index: end.index,
      exitCode: end.exitCode,
      message: `container "${end.container}" exited with code ${end.exitCode}`,
      logTail,
    };
  }

  private async logTail(
    namespace: string,
    name: string,
    container: string,
    previous: boolean,
  ): Promise<string> {
    try {
      const text = String(
        await this.kube.core.readNamespacedPodLog({
          name,
          namespace,
          container,
          previous,
          tailLines: 20,
          limitBytes: 8192,
        }),
      ).trim();
      const tail = text.length > LOG_TAIL_CHARS ? `…${text.slice(-LOG_TAIL_CHARS)}` : text;
      return tail.replace(/\s+/g, ' ');
    } catch {
      return '';
    }
  }

  /** Keeps the newest finished Pods of this object and pipeline (upstream's numberOfJobsToKeep). */
  private async prune(req: PipelineRunRequest): Promise<void> {
    const labels = pipelinePodLabels(req.subject, req.pipeline.metadata.name);
    const list = await this.kube.core.listNamespacedPod({
      namespace: req.namespace,
      labelSelector: Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    });
    const finished = list.items
      .filter((p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed')
      .sort(
        (a, b) =>
          new Date(b.metadata?.creationTimestamp ?? 0).getTime() -
          new Date(a.metadata?.creationTimestamp ?? 0).getTime(),
      );
    for (const p of finished.slice(req.settings.podsToKeep))
      await this.deletePod(req.namespace, p.metadata!.name!);
  }
}

function markDeleted(pod: V1Pod): V1Pod {
  return { ...pod, status: { ...pod.status, phase: 'Deleted' } };
}
