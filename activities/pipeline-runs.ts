// A configure run and its pipelines: start the run, run each pipeline with the executor (then
// validate its output, write it to the state store, merge its status), complete the run.
import path from 'node:path';
import { ApplicationFailure, Context, heartbeat } from '@temporalio/activity';
import { MANUAL_RECONCILIATION_LABEL } from '../src/core/constants.js';
import {
  pipelineEnv,
  pipelineIdentity,
  pipelineInputYaml,
  pipelinesFor,
  withPipelineNamespace,
} from '../src/core/pipeline-factory.js';
import { pipelineSettings } from '../src/core/pipeline-settings.js';
import { formatDuration } from '../src/core/duration.js';
import { findCondition } from '../src/core/status.js';
import {
  applyMergePatch,
  mergePatchBetween,
  outcomeFailureDetail,
  pipelineSucceededStatus,
  runCompletedStatus,
  runStartedStatus,
  RUN_EVENTS,
} from '../src/core/run-status.js';
import { isPromiseRef, type KubeObject, type ObjectRef, type WorkflowAction } from '../src/core/types.js';
import { collectConfigureResult, PipelineOutputError } from '../src/executors/collect.js';
import {
  parseWorkflowControl,
  WORKFLOW_CONTROL_FILE,
  type WorkflowControl,
} from '../src/core/workflow-control.js';
import { EnvResolutionError } from '../src/kube/env.js';
import { describeApiError, statusCode } from '../src/kube/client.js';
import { recordEvent } from '../src/kube/events.js';
import { readPlatformConfig, removeLabelPatch } from '../src/kube/objects.js';
import { objectAccess, type ObjectAccess } from './access.js';
import { identityEnsurer } from './identity.js';
import { DeferredStatusWrite, OUTPUT_WRITE_GRACE_MS } from './deferred-status.js';
import { startProgressBeat, type ProgressBeat } from './progress-beat.js';
import { pruneEarlierRuns, removeRunDir, runRoot } from './run-dirs.js';
import { RunHandoff } from './run-handoff.js';
import { HandedOffRuns, RunControl } from './handed-off-runs.js';
import { failPipeline, now, reportPending, withPhase } from './run-status.js';
import { suspendPipeline } from './workflow-control.js';
import { REQUIREMENTS_REASON } from './requirements.js';
import type { ActivityDeps } from './deps.js';
import { writeOutput } from './output.js';
import { findPipeline, promiseOf, reconcileIntervalMs } from './subject.js';
import { metrics } from '../src/metrics.js';
import { pipelineTraceEnv, withSpan } from '../src/tracing.js';

export interface RunPipelineInput {
  ref: ObjectRef;
  action: WorkflowAction;
  pipeline: string;
  index: number;
  total: number;
  runId: string;
  generation: number;
  /** The re-run of a pipeline that asked for it (workflow-control.yaml retryAfter): 2, 3, … */
  attempt?: number;
  /** The first pipeline of a folded run: its Running patch also carries the run's start status. */
  startRun?: boolean;
  /** The last pipeline of a folded run: its status patch also completes the run. */
  completeRun?: boolean;
  /**
   * Run as a local activity: a pipeline still running after this many milliseconds is handed over
   * (handed-off-runs.ts) and this returns `{ handedOff: true }`.
   */
  handOffAfterMs?: number;
  /** The regular activity after a hand-over: takes the run over (or resumes it from its folder). */
  adopt?: boolean;
}

/** What a local activity returns for a run it handed over. */
export interface HandedOffResult {
  handedOff: true;
}

/** Activities that run Promise and Resource pipelines (configure and delete). */
export function pipelineRunActivities(deps: ActivityDeps) {
  const { kube } = deps;
  const ensureIdentity = identityEnsurer(deps);
  const handoff = new RunHandoff<KubeObject>();
  const handedOffRuns = new HandedOffRuns();

  /**
   * Marks a configure run as started and returns its plan: pipeline names, container counts and the
   * reconcile interval. A Resource waits (retryable failure) until its Promise is Available.
   */
  async function startConfigureRun(input: {
    ref: ObjectRef;
    generation: number;
    reason: string;
    runId: string;
    /** Ensure the first pipeline's identity here and leave the start status to its runPipeline. */
    fold?: boolean;
  }) {
    const { ref } = input;
    const acc = objectAccess(kube, ref);
    await pruneEarlierRuns(deps, input.runId);
    let promise = await promiseOf(kube, input.ref);
    const intervalMs = await reconcileIntervalMs(kube, promise);
    const obj = await acc.read();
    if (!obj) return { gone: true, pipelines: [], intervalMs };
    const isAvailable = (p: typeof promise) => findCondition(p.status, 'Available')?.status === 'True';
    // A cached copy a moment behind the API server must not hold a Resource back: check the source.
    if (acc.type === 'resource' && !isAvailable(promise))
      promise = await promiseOf(kube, input.ref, { fresh: true });
    if (acc.type === 'resource' && !isAvailable(promise)) {
      // Say why when the Promise knows (e.g. its required Promises are missing).
      const available = findCondition(promise.status, 'Available');
      const message =
        `Waiting for Promise ${promise.metadata.name} to be available` +
        (available?.reason === REQUIREMENTS_REASON ? `: ${available.message}` : '');
      if (obj.status?.message !== message) await acc.patchStatus({ message });
      throw new Error(message);
    }
    if (input.reason === 'manual') await acc.patchMetadata(removeLabelPatch(MANUAL_RECONCILIATION_LABEL));
    const pipelines = pipelinesFor(promise, acc.type, 'configure');
    // Folded: the first pipeline's identity now, and the start status goes out with its Running
    // phase (one status patch less per run). A failure here still shows the run's pipeline list.
    const folded = input.fold === true && pipelines.length > 0;
    const start = () =>
      acc.patchStatus(
        runStartedStatus(
          obj,
          promise.metadata.name,
          pipelines.map((p) => p.metadata.name),
          now(),
        ),
      );
    if (folded) {
      await ensureIdentity(
        { ref, action: 'configure', pipeline: pipelines[0]!.metadata.name },
        start,
        promise,
      );
      handoff.put(input.runId, obj);
    } else await start();
    return {
      gone: false,
      intervalMs,
      pipelines: pipelines.map((p) => ({ name: p.metadata.name, containers: p.spec.containers.length })),
      ...(folded ? { folded: true } : {}),
      // Folded runs are the lifecycles' own: they may start their pipelines inside the workflow task.
      ...(folded && deps.executor.handOffAfterMs !== undefined
        ? { handOffAfterMs: deps.executor.handOffAfterMs }
        : {}),
    };
  }

  /**
   * Runs one pipeline: its containers in order with the executor, then (configure) validates the
   * output, writes it to the state store and merges status.yaml into the object's status.
   * Heartbeats throughout; cancellation kills the containers; a retry resumes in the same run
   * directory without re-running containers that finished.
   */
  async function runPipeline(input: RunPipelineInput) {
    // A run taken over has run for seconds already: its heartbeats start at once.
    const beat = startProgressBeat(heartbeat, input.pipeline, { immediately: input.adopt === true });
    const held: { running?: DeferredStatusWrite; startedAt?: number } = {};
    const labels = {
      promise: input.ref.promise,
      type: isPromiseRef(input.ref) ? 'promise' : 'resource',
      action: input.action,
    };
    const startedAt = Date.now();
    let outcome: string | undefined = 'error';
    try {
      const result = await runPipelineSteps(input, beat, held);
      // Counted once, by the activity that finishes it.
      outcome = 'handedOff' in result ? undefined : result.gone ? 'gone' : 'succeeded';
      return result;
    } catch (err) {
      if (err instanceof ApplicationFailure && err.type === 'PipelineFailed') outcome = 'failed';
      else if (Context.current().cancellationSignal.aborted) outcome = 'cancelled';
      throw err;
    } finally {
      beat.stop();
      // A way out that neither carried nor wrote the Running status (an error to retry) writes it,
      // as it was written before the containers ran; its own failure is the retry's to repeat.
      await held.running?.flush().catch(() => undefined);
      if (outcome !== undefined) {
        metrics.pipelineSeconds.observe(labels, (Date.now() - (held.startedAt ?? startedAt)) / 1000);
        // "error": an infrastructure problem; the activity is retried.
        metrics.pipelineRuns.inc({ ...labels, outcome });
      }
    }
  }

  async function runPipelineSteps(
    input: RunPipelineInput,
    beat: ProgressBeat,
    held: { running?: DeferredStatusWrite; startedAt?: number },
  ): Promise<
    | HandedOffResult
    | { gone: true }
    | { gone: false; files: number; control?: WorkflowControl; completed?: true }
  > {
    const { ref, pipeline: name, action } = input;
    const acc = objectAccess(kube, ref);
    const ctx = Context.current();
    const promise = await promiseOf(kube, ref);
    const pipeline = findPipeline(promise, ref, acc.type, action, name);
    const subject = withPipelineNamespace(acc.subject(action), promise);
    const handed = input.startRun && ctx.info.attempt === 1 ? handoff.take(input.runId) : undefined;
    const obj = handed ?? (await acc.read());
    if (!obj) return { gone: true };

    // The PipelineStarted Event is written while the containers start, and phase Running once
    // they have run for a second or the output is slow to write (deferred-status.ts): otherwise
    // the final status patch carries it. Both land before anything the run writes after them.
    let announced: Promise<unknown> = Promise.resolve();
    /** The status as the API server has it, before this run's Running patch. */
    const serverStatus = obj.status;
    // A folded start is written by whichever attempt gets here: the run's pipeline list must show.
    // A run taken over from a local activity was announced by it.
    if (!input.adopt && (ctx.info.attempt === 1 || input.startRun)) {
      if (action === 'configure') {
        const start = input.startRun
          ? runStartedStatus(
              obj,
              promise.metadata.name,
              pipelinesFor(promise, acc.type, 'configure').map((p) => p.metadata.name),
              now(),
            )
          : undefined;
        const base = start
          ? { ...obj, status: applyMergePatch(obj.status, start) as KubeObject['status'] }
          : obj;
        // A re-run keeps the count of earlier retry requests (upstream's `attempts`).
        const attempts = (input.attempt ?? 1) - 1;
        const kratix = withPhase(base, name, 'Running', undefined, attempts ? { attempts } : undefined);
        // The start's nulls (e.g. suspendedGeneration: the run starts over) stay in the patch.
        const startWorkflows = (start?.kratix as { workflows?: object } | undefined)?.workflows;
        const patch = {
          ...start,
          kratix: { ...kratix, workflows: { ...startWorkflows, ...(kratix.workflows as object) } },
        };
        held.running = new DeferredStatusWrite(() => acc.patchStatus(patch));
        // Only this run writes the object's status while it runs: keep the local copy current
        // instead of reading it again after the containers.
        obj.status = applyMergePatch(obj.status, patch) as KubeObject['status'];
      }
      const started = recordEvent(
        kube,
        acc.event,
        'Normal',
        'PipelineStarted',
        RUN_EVENTS.pipelineStarted(action, name, input.index, input.total),
      );
      announced = started;
    }
    const recordSucceeded = () =>
      recordEvent(
        kube,
        acc.event,
        'Normal',
        'PipelineSucceeded',
        RUN_EVENTS.pipelineSucceeded(action, name, input.index, input.total),
      );
    /** A failed pipeline: its Running status first (if not written yet), then the failure. */
    const fail = async (message: string, logTail?: string) => {
      await held.running?.flush();
      return failPipeline(kube, acc, action, name, message, logTail);
    };

    const sa = pipelineIdentity(subject, pipeline).serviceAccount;
    const settings = pipelineSettings(await readPlatformConfig(kube), pipeline, promise);
    /** This pipeline's part of the run: its folder, and (with the run id) its key. */
    const step = `${input.index}-${name}${input.attempt ? `-${input.attempt}` : ''}`;
    const runKey = `${input.runId}/${step}`;
    const adopted = input.adopt ? handedOffRuns.take(runKey) : undefined;
    // The timeout counts from the first attempt: retries of the activity do not restart it.
    const run =
      adopted?.control ?? new RunControl(settings.timeoutMs - (Date.now() - ctx.info.scheduledTimestampMs));
    if (adopted) held.startedAt = run.startedAt;
    run.bind(
      ctx.cancellationSignal,
      () => ctx.cancellationDetails?.cancelRequested ?? false,
      (p) => beat.progress(p),
    );
    let pendingReason: string | undefined;
    let handedOver = false;
    let outcome;
    try {
      // A span per pipeline execution: its containers get it as KRATIX_TRACE_PARENT.
      const done =
        adopted?.done ??
        withSpan(
          `pipeline ${name}`,
          {
            attributes: {
              'kratix.promise': ref.promise,
              'kratix.pipeline': name,
              'kratix.workflow.action': action,
              'kratix.workflow.type': acc.type,
              'kratix.executor': deps.executor.name,
            },
          },
          () =>
            deps.executor.run({
              traceEnv: pipelineTraceEnv(),
              runKey,
              workflowId: input.runId,
              subject,
              pipeline,
              namespace: sa.namespace,
              serviceAccount: sa.name,
              identityKey: promise.metadata.uid,
              baseEnv: pipelineEnv(subject, name),
              objectYaml: pipelineInputYaml(obj),
              withMetadata: action === 'configure',
              settings,
              runDir: path.join(runRoot(deps, input.runId), step),
              signal: run.signal,
              // A timed-out run is over: its Pod goes, like a cancelled one's.
              cancelRequested: () => run.cancelRequested(),
              onProgress: (p) => run.progress(p),
              onPending: async (p) => {
                // Once per distinct reason: the Pod's status repeats it every few seconds.
                if (p.reason === pendingReason) return;
                pendingReason = p.reason;
                await reportPending(kube, acc, action, name, p.message);
              },
            }),
        );
      const first =
        input.handOffAfterMs === undefined ? await done : await firstOf(done, input.handOffAfterMs);
      if (first === STILL_RUNNING) {
        // Still running: the workflow task completes and a regular activity takes the run over.
        run.unbind();
        handedOffRuns.put(runKey, run, done);
        handedOver = true;
        await announced;
        await held.running?.flush();
        return { handedOff: true };
      }
      outcome = first;
    } catch (err) {
      await announced.catch(() => undefined);
      if (run.timedOut())
        throw await fail(
          `did not finish within ${formatDuration(settings.timeoutMs)} (pipelineTimeout); its containers were stopped`,
        );
      if (err instanceof EnvResolutionError || err instanceof PipelineOutputError)
        throw await fail(err.message);
      throw err;
    } finally {
      if (!handedOver) run.end();
    }
    await announced;
    // The containers are done: the Running status now only goes out if the output is slow to write.
    if (outcome.ok) held.running?.postpone(OUTPUT_WRITE_GRACE_MS);
    if (!outcome.ok) {
      const detail = outcomeFailureDetail(outcome, pipeline.spec.containers.length);
      throw await fail(detail, outcome.logTail);
    }
    // Delete pipelines' output is ignored (seed 001).
    if (action === 'delete') {
      await recordSucceeded();
      return { gone: false, files: 0 };
    }

    let result;
    try {
      result = collectConfigureResult(outcome.files);
    } catch (err) {
      if (err instanceof PipelineOutputError) throw await fail(err.message);
      throw err;
    }
    const control = parseWorkflowControl(outcome.files.metadata[WORKFLOW_CONTROL_FILE]);
    if (!control.ok) throw await fail(control.error);
    if (control.control) {
      // As upstream: the status is merged, the output is not written, the workflow stops here.
      await held.running?.flush();
      await suspendPipeline(kube, acc, {
        pipeline: name,
        control: control.control,
        attempt: input.attempt ?? 1,
        generation: input.generation,
        status: result.status,
      });
      return { gone: false, files: 0, control: control.control };
    }
    let destinations;
    try {
      destinations = await writeOutput(deps, { ref, promise, pipeline: name, result, obj, acc });
    } catch (err) {
      // A destination-selectors.yaml upstream refuses too (e.g. a sub-directory): not retried.
      if (err instanceof PipelineOutputError) throw await fail(err.message);
      throw err;
    }
    // A pending problem that resolved itself (e.g. the Secret appeared) left its message and
    // condition reason behind: read them back so they can be cleared.
    const fresh = ctx.info.attempt === 1 && !pendingReason;
    // Not written yet (quick containers, output written in time): this patch carries its changes.
    const carry = fresh && held.running ? await held.running.hold() : (await held.running?.flush(), false);
    const latest = fresh ? obj : ((await acc.read()) ?? obj);
    let status = pipelineSucceededStatus(latest, result.status, name, destinations, now());
    const isPromise = isPromiseRef(ref);
    const wasAvailable = findCondition(latest.status, 'Available')?.status === 'True';
    if (input.completeRun) {
      const after = { ...latest, status: applyMergePatch(latest.status, status) as KubeObject['status'] };
      status = { ...status, ...runCompletedStatus(after, input.generation, isPromise, now()) };
    }
    try {
      if (carry) {
        // From the status the server has to the one both patches give: one write.
        const patch = mergePatchBetween(serverStatus, applyMergePatch(latest.status, status));
        if (patch !== undefined) await acc.patchStatus(patch as Record<string, unknown>);
        held.running!.carriedBy();
      } else await acc.patchStatus(status);
    } catch (err) {
      // Too large (413) or invalid (422) for the API server: retrying the same status cannot help.
      const code = statusCode(err);
      if (code === 413 || code === 422)
        throw await fail(
          `the API server refused the status from /kratix/metadata/status.yaml: ${describeApiError(err)}`,
        );
      throw err;
    }
    if (input.completeRun) {
      // The last pipeline: its success is told in the run's ConfigureWorkflowCompleted Event.
      await recordRunCompleted(acc, isPromise && !wasAvailable, {
        name,
        index: input.index,
        total: input.total,
      });
      // Last: a worker that dies before this resumes the run from its folder (finished containers
      // are not run again) and writes the same status.
      await removeRunDir(deps, input.runId);
    } else await recordSucceeded();
    return { gone: false, files: result.files.length, ...(input.completeRun ? { completed: true } : {}) };
  }

  /** The Events of a completed configure run (and of a Promise that just became Available). */
  async function recordRunCompleted(
    acc: ObjectAccess,
    becameAvailable: boolean,
    last?: Parameters<typeof RUN_EVENTS.configureCompleted>[0],
  ) {
    await recordEvent(
      kube,
      acc.event,
      'Normal',
      'ConfigureWorkflowCompleted',
      RUN_EVENTS.configureCompleted(last),
    );
    if (becameAvailable)
      await recordEvent(kube, acc.event, 'Normal', 'Available', RUN_EVENTS.promiseAvailable);
  }

  /** The last pipeline succeeded: PipelineCompleted=True for this generation (a Promise becomes Available). */
  async function completeConfigureRun(input: { ref: ObjectRef; generation: number; runId: string }) {
    // Its folder first: once the status says completed, nothing of the run is left on the worker
    // (its container output is kept, bounded, for `kratix-temporal logs`).
    await removeRunDir(deps, input.runId);
    const acc = objectAccess(kube, input.ref);
    const obj = await acc.read();
    if (obj) {
      const promise = isPromiseRef(input.ref);
      const wasAvailable = findCondition(obj.status, 'Available')?.status === 'True';
      await acc.patchStatus(runCompletedStatus(obj, input.generation, promise, now()));
      await recordRunCompleted(acc, promise && !wasAvailable);
    }
  }

  return { startConfigureRun, runPipeline, completeConfigureRun };
}

const STILL_RUNNING = Symbol('still running');

/** The run's outcome, or STILL_RUNNING if it has none after `ms`. */
async function firstOf<T>(done: Promise<T>, ms: number): Promise<T | typeof STILL_RUNNING> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      done,
      new Promise<typeof STILL_RUNNING>((r) => (timer = setTimeout(() => r(STILL_RUNNING), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
