// `kratix-temporal runs | retry | logs`: a Resource's or Promise's runs from Temporal (visibility
// and histories), a retry through the manual-reconciliation label the controller already turns
// into a `reconcile` signal, and the pipelines' container output (Pod logs for the kubernetes
// executor, the worker's kept logs for the local one). Nothing here prints env values or Secrets.
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow/index.js';
import {
  KRATIX_GROUP,
  KRATIX_VERSION,
  MANUAL_RECONCILIATION_LABEL,
  PLATFORM_NAMESPACE,
  PROMISE_NAME_LABEL,
} from '../core/constants.js';
import { COLLECT_CONTAINER, INPUT_CONTAINER, WORKFLOW_ID_ANNOTATION } from '../core/pipeline-pod.js';
import type { KratixPromise, KubeObject } from '../core/types.js';
import { findRunLogs, readTail } from '../executors/local-logs.js';
import { errorChain } from '../core/errors.js';
import { isNotFound, mergePatch, type Kube } from '../kube/client.js';
import { stateQuery } from '../../workflows/definitions.js';
import {
  type RawRun,
  type RunInfo,
  type RunsRead,
  sortRuns,
  summarizeLifecycleRuns,
  summarizeRun,
} from './run-history.js';
import { lifecyclesQuery, resolveTarget, runsQuery, type Target } from './targets.js';

export interface InspectContext {
  kube: Kube;
  client: Client;
  /** Temporal namespace (for Web UI links). */
  temporalNamespace: string;
  webUi?: string;
}

const STATE_QUERY_TIMEOUT_MS = 20_000;

const promiseApi = { group: KRATIX_GROUP, version: KRATIX_VERSION, plural: 'promises' };

export async function resolve(
  kube: Kube,
  arg: string,
  namespace: string,
): Promise<{ target: Target; object?: KubeObject }> {
  const list = (await kube.custom.listClusterCustomObject(promiseApi)) as { items: KratixPromise[] };
  const target = resolveTarget(arg, namespace, list.items);
  try {
    const object =
      target.type === 'promise'
        ? ((await kube.custom.getClusterCustomObject({ ...promiseApi, name: target.promise })) as KubeObject)
        : ((await kube.custom.getNamespacedCustomObject({
            group: target.group,
            version: target.version,
            plural: target.plural,
            namespace: target.namespace,
            name: target.name,
          })) as KubeObject);
    return { target, object };
  } catch (err) {
    if (isNotFound(err)) return { target };
    throw err;
  }
}

function rootMessage(f: temporal.api.failure.v1.IFailure | null | undefined): string | undefined {
  let e = f;
  while (e?.cause) e = e.cause;
  return e?.message ?? undefined;
}

async function decoded<T>(client: Client, payloads: temporal.api.common.v1.IPayload[] | null | undefined) {
  try {
    return await decodeFromPayloadsAtIndex<T>(client.workflow.options.loadedDataConverter, 0, payloads);
  } catch {
    return undefined; // e.g. encoded with a key this client does not have
  }
}

/** What a run's history says: its input, result, failure and pipeline activities. */
async function readRun(
  client: Client,
  base: Omit<RawRun, 'pipelines' | 'input' | 'result' | 'failure'>,
): Promise<RawRun> {
  const raw: RawRun = { ...base, pipelines: [] };
  const history = await client.workflow.getHandle(base.workflowId, base.runId).fetchHistory();
  const byEvent = new Map<string, RawRun['pipelines'][number]>();
  for (const e of history.events ?? []) {
    const started = e.workflowExecutionStartedEventAttributes;
    if (started) raw.input = await decoded<RawRun['input']>(client, started.input?.payloads);
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name === 'runPipeline') {
      const input = await decoded<{ pipeline?: string }>(client, scheduled.input?.payloads);
      const p = { name: input?.pipeline ?? '?', state: 'running' as const };
      raw.pipelines.push(p);
      byEvent.set(String(e.eventId), p);
    }
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      const p = byEvent.get(String(done.scheduledEventId));
      if (p) p.state = 'completed' as never;
    }
    const failed = e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes;
    if (failed) {
      const p = byEvent.get(String(failed.scheduledEventId));
      if (p) Object.assign(p, { state: 'failed', failure: rootMessage(failed.failure) });
    }
    const completed = e.workflowExecutionCompletedEventAttributes;
    if (completed) raw.result = await decoded<RawRun['result']>(client, completed.result?.payloads);
    const wfFailed = e.workflowExecutionFailedEventAttributes;
    if (wfFailed) raw.failure = rootMessage(wfFailed.failure);
    const timedOut = e.workflowExecutionTimedOutEventAttributes;
    if (timedOut) raw.failure = 'the run timed out';
  }
  return raw;
}

/**
 * The configure and delete runs of a target, oldest first. With the live object, only its current
 * incarnation (the workflow ids carry its uid); without (deleted), every incarnation's. Configure
 * runs come from each lifecycle's `state` query (a worker answers it, also for a closed lifecycle),
 * the child runs from their histories.
 */
export async function readRuns(ctx: InspectContext, target: Target, object?: KubeObject): Promise<RunsRead> {
  const uid = object?.metadata.uid;
  const ofIncarnation = (id: string) => !uid || id.includes(`/${uid}/`) || id.endsWith(`/${uid}`);
  const runs: RunInfo[] = [];
  const unread: RunsRead['unread'] = [];
  const now = new Date();
  const opts = { now, webUi: ctx.webUi, namespace: ctx.temporalNamespace };
  for await (const w of ctx.client.workflow.list({ query: runsQuery(target) })) {
    if (!ofIncarnation(w.workflowId)) continue;
    const raw = await readRun(ctx.client, {
      workflowId: w.workflowId,
      runId: w.runId,
      type: w.type,
      status: w.status.name,
      startTime: w.startTime?.toISOString(),
      closeTime: w.closeTime?.toISOString(),
    });
    runs.push(summarizeRun(raw, opts));
  }
  // Each continue-as-new is an execution of its own; the newest carries the last runs.
  const lifecycles = new Set<string>();
  for await (const w of ctx.client.workflow.list({ query: lifecyclesQuery(target) }))
    if (ofIncarnation(w.workflowId)) lifecycles.add(w.workflowId);
  for (const lifecycleId of lifecycles) {
    try {
      // Without a worker polling, the server holds a query until its own timeout: say so sooner.
      const state = await ctx.client.withDeadline(Date.now() + STATE_QUERY_TIMEOUT_MS, () =>
        ctx.client.workflow.getHandle(lifecycleId).query(stateQuery),
      );
      runs.push(...summarizeLifecycleRuns(state, { ...opts, lifecycleId }));
    } catch (err) {
      unread.push({ lifecycleId, error: errorChain(err) });
    }
  }
  return { runs: sortRuns(runs), unread };
}

/** `readRuns`, warning on stderr about configure runs it could not read (the child runs still show). */
export async function listRuns(ctx: InspectContext, target: Target, object?: KubeObject): Promise<RunInfo[]> {
  const { runs, unread } = await readRuns(ctx, target, object);
  warnUnread(unread);
  return runs;
}

/** One stderr line per lifecycle whose configure runs could not be read, with the cause. */
export function warnUnread(unread: RunsRead['unread']): void {
  for (const u of unread)
    console.error(
      `warning: cannot read the configure runs of ${u.lifecycleId} from its state query: ${u.error} (a worker answers it: is one running?)`,
    );
}

/** Picks `--run N` (a configure run number, or "delete"), default the newest. */
export function pickRun(runs: RunInfo[], wanted: string | undefined): RunInfo | undefined {
  if (wanted === undefined) return runs[runs.length - 1];
  const w = wanted.trim().toLowerCase();
  return [...runs].reverse().find((r) => r.run === w || (w === 'delete' && r.action === 'delete'));
}

/**
 * Re-runs now: sets the manual-reconciliation label, which the controller turns into a `reconcile`
 * signal (a failed delete waits for exactly that). Returns whether the object is being deleted.
 */
export async function requestRetry(
  kube: Kube,
  target: Target,
  object: KubeObject,
): Promise<{ deleting: boolean }> {
  const body = { metadata: { labels: { [MANUAL_RECONCILIATION_LABEL]: 'true' } } };
  if (target.type === 'promise')
    await kube.custom.patchClusterCustomObject({ ...promiseApi, name: target.promise, body }, mergePatch);
  else
    await kube.custom.patchNamespacedCustomObject(
      {
        group: target.group,
        version: target.version,
        plural: target.plural,
        namespace: target.namespace,
        name: target.name,
        body,
      },
      mergePatch,
    );
  return { deleting: !!object.metadata.deletionTimestamp };
}

export interface ContainerLog {
  pipeline: string;
  container: string;
  /** Where it was read: `pod <ns>/<name>` or a file of the local executor. */
  source: string;
  log: string;
}

/** The output of a run's pipeline containers: from its Pods, else from the local executor's files. */
export async function runLogs(
  kube: Kube,
  target: Target,
  run: RunInfo,
  opts: { workDir: string; pipeline?: string; container?: string; maxBytes?: number },
): Promise<ContainerLog[]> {
  const maxBytes = opts.maxBytes ?? 64 * 1024;
  const want = (pipeline: string, container: string) =>
    (!opts.pipeline || opts.pipeline === pipeline) && (!opts.container || opts.container === container);
  const namespace = target.type === 'promise' ? PLATFORM_NAMESPACE : target.namespace;
  const selector = [
    `${PROMISE_NAME_LABEL}=${target.type === 'promise' ? target.promise : target.promise}`,
    `kratix.io/workflow-type=${target.type}`,
  ].join(',');
  let pods: Awaited<ReturnType<Kube['core']['listNamespacedPod']>>['items'] = [];
  try {
    pods = (await kube.core.listNamespacedPod({ namespace, labelSelector: selector })).items.filter(
      (p) => p.metadata?.annotations?.[WORKFLOW_ID_ANNOTATION] === run.workflowId,
    );
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const out: ContainerLog[] = [];
  pods.sort((a, b) =>
    String(a.metadata?.creationTimestamp ?? '').localeCompare(String(b.metadata?.creationTimestamp ?? '')),
  );
  for (const pod of pods) {
    const pipeline = pod.metadata?.labels?.['kratix.io/pipeline-name'] ?? '?';
    const containers = (pod.spec?.initContainers ?? [])
      .map((c) => c.name)
      .filter((c) => c !== INPUT_CONTAINER && c !== COLLECT_CONTAINER);
    for (const container of containers) {
      if (!want(pipeline, container)) continue;
      let log: string;
      try {
        log = String(
          await kube.core.readNamespacedPodLog({
            name: pod.metadata!.name!,
            namespace,
            container,
            limitBytes: maxBytes,
          }),
        );
      } catch (err) {
        log = `(no log: ${(err as Error).message.split('\n')[0]})`;
      }
      out.push({ pipeline, container, source: `pod ${namespace}/${pod.metadata!.name}`, log });
    }
  }
  if (pods.length) return out;
  for (const f of findRunLogs(opts.workDir, run.workflowId)) {
    if (!want(f.pipeline, f.container)) continue;
    out.push({
      pipeline: f.pipeline,
      container: f.container,
      source: f.file,
      log: readTail(f.file, maxBytes),
    });
  }
  return out;
}
