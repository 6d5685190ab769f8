import * as k8s from '@kubernetes/client-node';
import type { Attributes } from '@opentelemetry/api';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import {
  DELETE_FINALIZER,
  KRATIX_GROUP,
  KRATIX_VERSION,
  MANUAL_RECONCILIATION_LABEL,
  PAUSED_LABEL,
  RECONCILE_RESOURCES_LABEL,
  TASK_QUEUE,
} from '../core/constants.js';
import { evaluateRequirements, requiredPromisesOf, type RequirementStatus } from '../core/requirements.js';
import { findCondition } from '../core/status.js';
import { apiTarget } from '../core/crd.js';
import { promiseWorkflowId, resourceWorkflowId } from '../core/names.js';
import { searchAttributesFor } from '../core/search-attributes.js';
import type { KratixPromise, KubeObject, ResourceRef } from '../core/types.js';
import { Kube } from '../kube/client.js';
import { addFinalizerPatch, patchPromiseMetadata, patchResourceMetadata } from '../kube/objects.js';
import { changedSignal, deleteSignal, pausedSignal, reconcileSignal } from '../../workflows/definitions.js';
import type { promiseLifecycle, resourceLifecycle } from '../../workflows/index.js';
import { specHash } from './hash.js';
import { ResilientInformer } from './watcher.js';
import { WorkQueue } from './work-queue.js';
import { Admission, type AdmissionOptions } from './admission.js';
import { CONDITION } from '../core/run-status.js';
import { metrics } from '../metrics.js';
import { logger } from '../logger.js';
import { withSpan } from '../tracing.js';

export interface ControllerOptions {
  kube: Kube;
  client: Client;
  taskQueue?: string;
  /** How often every watch re-lists (guards against silently hung watches). */
  relistIntervalMs?: number;
  /** Objects handled at the same time (each object by one worker at a time). */
  concurrency?: number;
  /**
   * New objects whose first run is started before earlier ones finish, at most (default 128, env
   * KRATIX_MAX_NEW_RUNS), and how long one holds its slot at most (default 60 s): see admission.ts.
   */
  admission?: AdmissionOptions;
}

const DEFAULT_ADMISSION: AdmissionOptions = {
  limit: Number(process.env.KRATIX_MAX_NEW_RUNS ?? 128),
  holdMs: 60_000,
};

type Target = NonNullable<ReturnType<typeof apiTarget>>;
type WatchEvent = 'add' | 'update' | 'delete';
type QueueItem =
  | { kind: 'promise'; ev: WatchEvent; obj: KratixPromise }
  | { kind: 'resource'; ev: WatchEvent; promise: string; target: Target; obj: KubeObject };

/**
 * Watches Promises and every Resource kind a Promise installed, and makes sure each object's
 * workflow exists and knows its latest generation, manual trigger or deletion. It holds no other
 * logic: the workflows do the work.
 */
export class Controller {
  private readonly taskQueue: string;
  private readonly relistMs: number;
  private promises?: ResilientInformer<KratixPromise>;
  private readonly resourceWatchers = new Map<
    string,
    { target: Target; informer: ResilientInformer<KubeObject & k8s.KubernetesObject> }
  >();
  /** Whether each Promise (by name) carries kratix.io/paused: its Resources pause with it. */
  private readonly promisePaused = new Map<string, boolean>();
  /** What each workflow was last told, so status-only updates cost no signal. */
  private readonly lastSent = new Map<string, string>();
  /** Watch events go through a keyed queue: a failed handler is retried, never dropped. */
  private readonly queue: WorkQueue<QueueItem>;
  /** New objects' first runs: a burst reaches Temporal at the rate runs finish. */
  private readonly admission: Admission;
  private admissionTicker?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly opts: ControllerOptions) {
    this.taskQueue = opts.taskQueue ?? TASK_QUEUE;
    this.relistMs = opts.relistIntervalMs ?? 5 * 60_000;
    this.queue = new WorkQueue('controller', (_key, item) => this.process(item), {
      concurrency: opts.concurrency ?? 16,
      onDepth: (n) => metrics.queueDepth.set(n),
      onFailure: () => metrics.handlerFailures.inc(),
    });
    this.admission = new Admission({
      ...(opts.admission ?? DEFAULT_ADMISSION),
      onWaiting: (n) => metrics.admissionWaiting.set(n),
    });
  }

  private process(item: QueueItem): Promise<void> {
    if (item.kind === 'promise')
      return item.ev === 'delete' ? this.onPromiseGone(item.obj) : this.onPromise(item.obj, item.ev);
    if (item.ev === 'delete') {
      this.forget(item.obj);
      return Promise.resolve();
    }
    return this.onResource(item.promise, item.target, item.obj, item.ev);
  }

  /**
   * Resource lifecycles that were running when this controller started (from Temporal visibility).
   * An object whose status shows its current generation completed, and whose workflow is among
   * these, needs no signal: after a restart the controller re-lists every object, and telling each
   * workflow what it already knows would cost a signal and a workflow task per object.
   */
  private runningAtStart = new Set<string>();

  private async loadRunningLifecycles(): Promise<void> {
    try {
      const ids = new Set<string>();
      for await (const wf of this.opts.client.workflow.list({
        query: `WorkflowType = 'resourceLifecycle' AND ExecutionStatus = 'Running' AND TaskQueue = '${this.taskQueue}'`,
      }))
        ids.add(wf.workflowId);
      this.runningAtStart = ids;
    } catch (err) {
      // Without the list every object is signalled, as on a first start: slower, still correct.
      logger.warn({ err: String(err) }, 'could not list running lifecycles; signalling every object');
    }
  }

  async start(): Promise<void> {
    const { kube } = this.opts;
    await this.loadRunningLifecycles();
    this.admissionTicker = setInterval(() => {
      this.admission.tick();
    }, 1000);
    this.admissionTicker.unref();
    this.promises = new ResilientInformer<KratixPromise>(
      'promises',
      kube.kc,
      `/apis/${KRATIX_GROUP}/${KRATIX_VERSION}/promises`,
      () =>
        kube.custom.listClusterCustomObject({
          group: KRATIX_GROUP,
          version: KRATIX_VERSION,
          plural: 'promises',
        }) as Promise<k8s.KubernetesListObject<KratixPromise>>,
      (ev, obj) => {
        metrics.watchEvents.inc({ kind: 'Promise', event: ev });
        this.queue.add(`promise/${obj.metadata?.name}`, { kind: 'promise', ev, obj });
      },
      this.relistMs,
    );
    await this.promises.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.admissionTicker);
    await this.queue.stop();
    await this.promises?.stop();
    await Promise.all([...this.resourceWatchers.values()].map((w) => w.informer.stop()));
    this.resourceWatchers.clear();
  }

  /** The Promise is gone (its CRD too): stop watching its kind. */
  private async onPromiseGone(p: KratixPromise): Promise<void> {
    this.forget(p);
    await this.tellDependents(p.metadata.name);
    const watcher = this.resourceWatchers.get(p.metadata.name);
    this.resourceWatchers.delete(p.metadata.name);
    await watcher?.informer.stop();
  }

  private forget(obj: k8s.KubernetesObject): void {
    if (obj.metadata?.uid) this.lastSent.delete(obj.metadata.uid);
    if (obj.metadata?.uid) this.admission.done(obj.metadata.uid);
  }

  /**
   * Sends `key`'s signal unless the workflow was already told exactly this. With tracing on, the
   * send is a span: the root of the trace the workflow's resulting work joins.
   */
  private async once(
    uid: string,
    key: string,
    send: () => Promise<unknown>,
    span: { kind: string; signal: string; attributes: Attributes },
  ): Promise<void> {
    if (this.lastSent.get(uid) === key) return;
    try {
      await withSpan(
        `controller: ${span.kind} ${span.signal}`,
        { attributes: { ...span.attributes, 'kratix.signal': span.signal } },
        send,
      );
      this.lastSent.set(uid, key);
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        // A closed workflow with this id completed (the object's lifecycle ended): nothing to do.
        this.lastSent.set(uid, key);
        return;
      }
      throw err;
    }
  }

  private async onPromise(p: KratixPromise, ev: WatchEvent): Promise<void> {
    const { name, uid, generation = 1 } = p.metadata;
    if (!uid) return;
    const workflowId = promiseWorkflowId(name, uid);
    const about = (signal: string) => ({
      kind: 'Promise',
      signal,
      attributes: spanAttributes(ev, 'Promise', p, workflowId),
    });
    const start = {
      workflowId,
      taskQueue: this.taskQueue,
      args: [{ name, uid, inlineRuns: true }] as Parameters<typeof promiseLifecycle>,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
      staticSummary: `Promise ${name}`,
      typedSearchAttributes: searchAttributesFor({ promise: name }, 'configure'),
    };
    const signalManual = () =>
      p.metadata.labels?.[MANUAL_RECONCILIATION_LABEL] === 'true'
        ? this.once(
            `${uid}/manual`,
            `manual/${p.metadata.resourceVersion}`,
            () =>
              this.opts.client.workflow.getHandle(workflowId).signal(reconcileSignal, { reason: 'manual' }),
            about('manual'),
          )
        : undefined;
    if (p.metadata.deletionTimestamp) {
      if (!p.metadata.finalizers?.includes(DELETE_FINALIZER)) return;
      await this.once(
        uid,
        'delete',
        () =>
          this.opts.client.workflow.signalWithStart<typeof promiseLifecycle, []>('promiseLifecycle', {
            ...start,
            signal: deleteSignal,
            signalArgs: [],
          }),
        about('delete'),
      );
      await signalManual();
      return;
    }
    if (!p.metadata.finalizers?.includes(DELETE_FINALIZER)) {
      await patchPromiseMetadata(this.opts.kube, name, uid, addFinalizerPatch(DELETE_FINALIZER), p);
    }
    const paused = p.metadata.labels?.[PAUSED_LABEL] === 'true';
    await this.syncPaused(
      uid,
      paused,
      p,
      (signal) => this.opts.client.workflow.signalWithStart('promiseLifecycle', { ...start, ...signal }),
      about('paused'),
    );
    if (this.promisePaused.get(name) !== paused) {
      // Its Resources pause and resume with it: look at each again.
      this.promisePaused.set(name, paused);
      this.requeueResources(name);
    }
    const hash = specHash(p.spec);
    await this.once(
      uid,
      `changed/${generation}/${hash}`,
      () =>
        this.opts.client.workflow.signalWithStart('promiseLifecycle', {
          ...start,
          signal: changedSignal,
          signalArgs: [{ generation, specHash: hash }],
        }),
      about('changed'),
    );
    await signalManual();
    // kratix.io/reconcile-resources: once per labelling (the lifecycle removes the label when done).
    if (p.metadata.labels?.[RECONCILE_RESOURCES_LABEL] === 'true')
      await this.once(
        `${uid}/reconcile-resources`,
        'set',
        () =>
          this.opts.client.workflow
            .getHandle(workflowId)
            .signal(reconcileSignal, { reason: 'reconcile-resources' }),
        about('reconcile-resources'),
      );
    else this.lastSent.delete(`${uid}/reconcile-resources`);
    await this.syncRequirements(p);
    await this.tellDependents(name);
    await this.ensureResourceWatcher(p);
  }

  /** Promises whose spec.requiredPromises names `name` look at their requirements again. */
  private async tellDependents(name: string): Promise<void> {
    for (const d of this.promises?.list() ?? [])
      if (requiredPromisesOf(d).some((r) => r.name === name)) await this.syncRequirements(d);
  }

  /**
   * Level-triggered: when what the watched Promises say about `d`'s requirements differs from what
   * `d` recorded (status.requiredPromises), its lifecycle checks them again, whether it waits for
   * them or one it relied on went away. Once per distinct answer, so a restart costs no runs.
   */
  private async syncRequirements(d: KratixPromise): Promise<void> {
    const uid = d.metadata.uid;
    const required = requiredPromisesOf(d);
    // Before its first check the lifecycle's own run looks at them anyway.
    if (!uid || d.metadata.deletionTimestamp || !findCondition(d.status, 'RequirementsFulfilled')) return;
    const known = new Map((this.promises?.list() ?? []).map((p) => [p.metadata.name, p]));
    const now = evaluateRequirements(required, (n) => known.get(n)).requiredPromises;
    const recorded = (d.status?.requiredPromises ?? []) as RequirementStatus[];
    const differs = now.some(
      (r) => recorded.find((x) => x.name === r.name && x.version === r.version)?.state !== r.state,
    );
    if (!differs) return;
    const workflowId = promiseWorkflowId(d.metadata.name, uid);
    await this.once(
      `${uid}/requirements`,
      JSON.stringify(now),
      async () => {
        try {
          await this.opts.client.workflow
            .getHandle(workflowId)
            .signal(reconcileSignal, { reason: 'requirements' });
        } catch (err) {
          // Not started yet: its first run checks the requirements anyway.
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        }
      },
      {
        kind: 'Promise',
        signal: 'requirements',
        attributes: spanAttributes('update', 'Promise', d, workflowId),
      },
    );
  }

  /**
   * Tells the lifecycle about kratix.io/paused: paused before anything else (so a new object never
   * starts a run), resumed only when it was told it is paused or its status says so (a restarted
   * controller does not signal every object).
   */
  private async syncPaused(
    uid: string,
    paused: boolean,
    obj: KubeObject,
    send: (signal: { signal: typeof pausedSignal; signalArgs: [{ paused: boolean }] }) => Promise<unknown>,
    span: { kind: string; signal: string; attributes: Attributes },
  ): Promise<void> {
    const key = `${uid}/paused`;
    const shown = findCondition(obj.status, 'Reconciled')?.reason === 'PausedReconciliation';
    if (!paused && this.lastSent.get(key) !== 'true' && !shown) return;
    await this.once(
      key,
      String(paused),
      () => send({ signal: pausedSignal, signalArgs: [{ paused }] }),
      span,
    );
  }

  /** No run of this object finished yet and this controller has not signalled its lifecycle. */
  private isFirstRun(obj: KubeObject, workflowId: string): boolean {
    return (
      (obj.status as { observedGeneration?: number } | undefined)?.observedGeneration === undefined &&
      !this.lastSent.has(obj.metadata.uid!) &&
      !this.runningAtStart.has(workflowId)
    );
  }

  /** Handles every known Resource of the Promise again (e.g. it was paused or resumed). */
  private requeueResources(promise: string): void {
    const w = this.resourceWatchers.get(promise);
    if (!w) return;
    for (const obj of w.informer.list())
      this.queue.add(resourceKey(w.target, obj), {
        kind: 'resource',
        ev: 'update',
        promise,
        target: w.target,
        obj,
      });
  }

  private async ensureResourceWatcher(p: KratixPromise): Promise<void> {
    const target = apiTarget(p.spec?.api);
    // Watch the Resource kind once the Promise installed it (no 404 churn before that).
    const available = (p.status?.conditions as { type: string; status: string }[] | undefined)?.some(
      (c) => c.type === 'Available' && c.status === 'True',
    );
    if (!target || !available || this.stopped) return;
    const key = `${p.metadata.name}`;
    const existing = this.resourceWatchers.get(key);
    if (existing && JSON.stringify(existing.target) === JSON.stringify(target)) return;
    if (existing) await existing.informer.stop();
    const { kube } = this.opts;
    const promiseName = p.metadata.name;
    const informer = new ResilientInformer<KubeObject & k8s.KubernetesObject>(
      `${target.plural}.${target.group}`,
      kube.kc,
      `/apis/${target.group}/${target.version}/${target.plural}`,
      () =>
        kube.custom.listClusterCustomObject({
          group: target.group,
          version: target.version,
          plural: target.plural,
        }) as Promise<k8s.KubernetesListObject<KubeObject & k8s.KubernetesObject>>,
      (ev, obj) => {
        metrics.watchEvents.inc({ kind: target.kind, event: ev });
        this.queue.add(resourceKey(target, obj), { kind: 'resource', ev, promise: promiseName, target, obj });
      },
      this.relistMs,
    );
    this.resourceWatchers.set(key, { target, informer });
    await informer.start();
  }

  private async onResource(promise: string, target: Target, obj: KubeObject, ev: WatchEvent): Promise<void> {
    const { name, namespace = '', uid, generation = 1 } = obj.metadata;
    if (!uid) return;
    const ref: ResourceRef = {
      promise,
      group: target.group,
      version: target.version,
      kind: target.kind,
      plural: target.plural,
      namespace,
      name,
      uid,
    };
    const start = {
      workflowId: resourceWorkflowId(ref),
      taskQueue: this.taskQueue,
      args: [{ ref, inlineRuns: true }] as Parameters<typeof resourceLifecycle>,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
      staticSummary: `${target.kind} ${namespace}/${name} (Promise ${promise})`,
      typedSearchAttributes: searchAttributesFor({ promise, namespace, name }, 'configure'),
    };
    const about = (signal: string) => ({
      kind: target.kind,
      signal,
      attributes: { ...spanAttributes(ev, target.kind, obj, start.workflowId), 'kratix.promise': promise },
    });
    const manual = obj.metadata.labels?.[MANUAL_RECONCILIATION_LABEL] === 'true';
    const signalManual = () =>
      // Keyed by resourceVersion: the label is removed by the run, so a later re-label triggers again.
      this.once(
        `${uid}/manual`,
        `manual/${obj.metadata.resourceVersion}`,
        () =>
          this.opts.client.workflow.getHandle(start.workflowId).signal(reconcileSignal, { reason: 'manual' }),
        about('manual'),
      );
    if (obj.metadata.deletionTimestamp) {
      if (!obj.metadata.finalizers?.includes(DELETE_FINALIZER)) return;
      await this.once(
        uid,
        'delete',
        () =>
          this.opts.client.workflow.signalWithStart('resourceLifecycle', {
            ...start,
            signal: deleteSignal,
            signalArgs: [],
          }),
        about('delete'),
      );
      // A failed delete is retried with the manual label.
      if (manual) await signalManual();
      return;
    }
    // Paused first: a new paused object never starts a run.
    const paused = obj.metadata.labels?.[PAUSED_LABEL] === 'true' || this.promisePaused.get(promise) === true;
    await this.syncPaused(
      uid,
      paused,
      obj,
      (signal) => this.opts.client.workflow.signalWithStart('resourceLifecycle', { ...start, ...signal }),
      about('paused'),
    );
    const hash = specHash(obj.spec);
    const key = `changed/${generation}/${hash}`;
    const completed =
      (obj.status as { observedGeneration?: number } | undefined)?.observedGeneration === generation;
    if (completed && this.runningAtStart.has(start.workflowId) && !this.lastSent.has(uid))
      this.lastSent.set(uid, key);
    // A new object's first run waits for a slot; one that finished or failed gives its slot back
    // (one that was signalled keeps it meanwhile: it is no longer first-run material).
    if (completed || paused || findCondition(obj.status, CONDITION.configure)?.reason === 'PipelineFailed')
      this.admission.done(uid);
    else if (
      this.isFirstRun(obj, start.workflowId) &&
      !this.admission.admit(uid, () =>
        this.queue.add(resourceKey(target, obj), { kind: 'resource', ev, promise, target, obj }),
      )
    )
      return;
    // The finalizer and the signal are independent: together, a new object's run starts one API
    // round trip sooner. (A delete that lands before the finalizer finds the object gone: fine.)
    await Promise.all([
      obj.metadata.finalizers?.includes(DELETE_FINALIZER)
        ? undefined
        : // The watch's copy first: a new object's finalizer costs one request, not a read and a patch.
          patchResourceMetadata(this.opts.kube, ref, addFinalizerPatch(DELETE_FINALIZER), obj),
      this.once(
        uid,
        key,
        () =>
          this.opts.client.workflow.signalWithStart('resourceLifecycle', {
            ...start,
            signal: changedSignal,
            signalArgs: [{ generation, specHash: hash }],
          }),
        about('changed'),
      ),
    ]);
    if (manual) await signalManual();
  }
}

/** The work queue key of a Resource. */
function resourceKey(target: Target, obj: k8s.KubernetesObject): string {
  return `${target.plural}.${target.group}/${obj.metadata?.namespace}/${obj.metadata?.name}`;
}

/** What a controller span says about the watch event and the object it handled. */
function spanAttributes(ev: WatchEvent, kind: string, obj: KubeObject, workflowId: string): Attributes {
  const m = obj.metadata;
  return {
    'kratix.watch.event': ev,
    'k8s.object.kind': kind,
    'k8s.object.name': m.name,
    ...(m.namespace ? { 'k8s.namespace.name': m.namespace } : {}),
    'k8s.object.uid': m.uid ?? '',
    'k8s.object.generation': m.generation ?? 1,
    temporalWorkflowId: workflowId,
  };
}
