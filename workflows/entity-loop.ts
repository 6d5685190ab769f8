// The entity pattern shared by the Promise and Resource lifecycles: handlers first, then a loop
// that waits for a change, a manual/parent trigger, a delete, or the reconcile timer; runs; and
// continues-as-new with its state when history grows.
import {
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { failureBackoffMs, reconcileDelayMs } from '../src/core/scheduling.js';
import { DEFAULT_RECONCILIATION_INTERVAL_MS } from '../src/core/constants.js';
import { rootCauseMessage } from '../src/core/errors.js';
import { RUN_FAILED, SA } from '../src/core/search-attributes.js';
import {
  changedSignal,
  deleteSignal,
  pausedSignal,
  reconcileSignal,
  stateQuery,
  type LifecycleState,
  type RunOutcome,
  type RunSummary,
} from './definitions.js';

/** Runs kept in the `state` query (and carried across continue-as-new). */
const KEPT_RUNS = 10;
/** Continue-as-new after this many runs even if the server does not suggest it: short replays. */
const RUNS_PER_HISTORY = 10;

export function initialState(): LifecycleState {
  return {
    phase: 'idle',
    wantedGeneration: 0,
    wantedHash: '',
    doneGeneration: 0,
    runCount: 0,
    consecutiveFailures: 0,
    lastRuns: [],
    deleting: false,
  };
}

export interface RunContext {
  number: number;
  generation: number;
  reason: string;
}

export interface EntityCallbacks {
  /** Uniquely identifies the entity for jitter. */
  uid: string;
  /** Performs one configure run. Throws on failure. `onSuperseded` registers a hook for spec changes. */
  run(
    ctx: RunContext,
    state: LifecycleState,
  ): Promise<{ outcome: RunOutcome; intervalMs: number; runId?: string }>;
  /** Called when a newer spec arrives during a run (e.g. signal the child to stop after its pipeline). */
  supersede(): Promise<void>;
  /** The manual label during a run: stop the current pipeline now (the loop then restarts). */
  interrupt?(): Promise<void>;
  /** Shows the kratix.io/paused label on the object (paused, or resumed). */
  onPaused?(paused: boolean): Promise<void>;
  /** Told whether each run failed (a lifecycle running its runs inline marks itself failing). */
  onRunEnded?(failed: boolean): void;
  /** Called once the entity is deleted, after any in-flight run was cancelled. Not cancellable. */
  onDelete(state: LifecycleState): Promise<void>;
  /** Continue-as-new with the current state. */
  continueAsNew(state: LifecycleState): Promise<never>;
}

export async function runEntityLoop(state: LifecycleState, cb: EntityCallbacks): Promise<void> {
  let runScope: CancellationScope | undefined;

  setHandler(changedSignal, ({ generation, specHash }) => {
    if (specHash === state.wantedHash && generation <= state.wantedGeneration) return;
    state.wantedGeneration = Math.max(generation, state.wantedGeneration);
    state.wantedHash = specHash;
    // The run may have just finished (its child closed): then the signal fails, which is fine,
    // since the loop sees the newer spec and runs again. Unhandled, it would fail the workflow task
    // on every replay.
    if (state.phase === 'configuring') cb.supersede().catch(() => undefined);
  });
  setHandler(reconcileSignal, ({ reason }) => {
    // A required Promise changed: that does not resume a workflow a pipeline suspended.
    if (reason === 'requirements' && state.blocked === 'suspended') return;
    // "manual" wins: it is what a blocked delete waits for.
    if (state.pendingReason === undefined || reason === 'manual') state.pendingReason = reason;
    // As upstream, the manual label interrupts a run in flight: it restarts from the first pipeline.
    if (
      reason === 'manual' &&
      state.phase === 'configuring' &&
      cb.interrupt &&
      patched('manual-interrupts-run')
    )
      cb.interrupt().catch(() => undefined);
  });
  setHandler(pausedSignal, ({ paused }) => {
    if (paused === (state.paused ?? false)) return;
    state.paused = paused;
    // Resuming runs the workflow again from its first pipeline, as upstream does on unpause.
    if (!paused) state.pendingReason ??= 'unpaused';
  });
  setHandler(deleteSignal, () => {
    state.deleting = true;
    runScope?.cancel();
  });
  setHandler(stateQuery, () => state);

  const needsRun = () => state.wantedHash !== state.doneHash || state.pendingReason !== undefined;

  while (!state.deleting) {
    if (state.paused) {
      // A run in flight finished first; none starts until the label goes.
      state.phase = 'paused';
      await cb.onPaused?.(true);
      await condition(() => state.deleting || !state.paused);
      if (!state.deleting) await cb.onPaused?.(false);
      continue;
    }
    if (!needsRun() && state.blocked) {
      // Suspended by a pipeline, or waiting for required Promises: no timed reconcile, only a
      // signal (manual label, spec change, a required Promise changing) wakes it.
      state.phase = state.blocked === 'suspended' ? 'suspended' : 'waiting-requirements';
      await condition(() => state.deleting || needsRun() || state.paused === true);
      continue;
    }
    if (!needsRun()) {
      const interval = state.intervalMs ?? DEFAULT_RECONCILIATION_INTERVAL_MS;
      const delay =
        state.consecutiveFailures > 0
          ? failureBackoffMs(state.consecutiveFailures, interval)
          : reconcileDelayMs(interval, cb.uid);
      state.phase = state.consecutiveFailures > 0 ? 'waiting-retry' : 'idle';
      state.nextReconcileAt = new Date(Date.now() + delay).toISOString();
      const woke = await condition(() => state.deleting || needsRun() || state.paused === true, delay);
      state.nextReconcileAt = undefined;
      if (state.paused) continue;
      if (!woke) state.pendingReason = state.consecutiveFailures > 0 ? 'retry' : 'interval';
      continue;
    }

    const ctx: RunContext = {
      number: ++state.runCount,
      generation: state.wantedGeneration,
      reason: state.pendingReason ?? (state.doneHash === undefined ? 'created' : 'spec-changed'),
    };
    const hashAtStart = state.wantedHash;
    state.pendingReason = undefined;
    state.phase = 'configuring';
    // What the run leaves the lifecycle waiting for (kept during the run: it may decide by it).
    let blocked: LifecycleState['blocked'];
    const summary: RunSummary = {
      number: ctx.number,
      workflowId: '',
      outcome: 'succeeded',
      generation: ctx.generation,
      reason: ctx.reason,
      startedAt: new Date().toISOString(),
      execution: workflowInfo().runId,
    };
    state.running = summary;
    try {
      runScope = new CancellationScope();
      const result = await runScope.run(() => cb.run(ctx, state));
      summary.outcome = result.outcome;
      summary.workflowId = result.runId ?? '';
      state.intervalMs = result.intervalMs;
      if (result.outcome === 'succeeded') {
        state.doneHash = hashAtStart;
        state.doneGeneration = ctx.generation;
        state.consecutiveFailures = 0;
      } else if (result.outcome === 'suspended' || result.outcome === 'blocked') {
        // Not a failure: nothing is retried until a signal says something changed.
        state.doneHash = hashAtStart;
        state.doneGeneration = ctx.generation;
        state.consecutiveFailures = 0;
        blocked = result.outcome === 'suspended' ? 'suspended' : 'requirements';
      } else if (result.outcome === 'gone') {
        // The object disappeared without our finalizer running (e.g. forced removal): nothing to do.
        state.deleting = true;
      }
      // superseded: the loop starts again from the first pipeline with the new spec.
    } catch (err) {
      if (state.deleting && isCancellation(err)) break;
      summary.outcome = 'failed';
      summary.error = rootCauseMessage(err);
      summary.workflowId ||= state.currentRun ?? '';
      // A failed spec is not re-run immediately: the backoff timer retries it.
      state.doneHash = hashAtStart;
      state.consecutiveFailures++;
    } finally {
      state.blocked = blocked;
      runScope = undefined;
      state.currentRun = undefined;
      state.currentPipeline = undefined;
      state.running = undefined;
      summary.endedAt = new Date().toISOString();
    }
    state.lastRuns = [...state.lastRuns, summary].slice(-KEPT_RUNS);
    cb.onRunEnded?.(summary.outcome === 'failed');
    // The Web UI shows a workflow's current details on its page: say why it waits.
    if (summary.outcome === 'failed')
      setCurrentDetails(
        `run ${summary.number} failed: ${summary.error}\n\nretried with backoff; a spec change or the kratix.io/manual-reconciliation label runs it now`,
      );

    if (workflowInfo().continueAsNewSuggested || state.runCount % RUNS_PER_HISTORY === 0) {
      await condition(allHandlersFinished);
      if (!state.deleting) await cb.continueAsNew(state);
    }
  }

  state.phase = 'deleting';
  await CancellationScope.nonCancellable(() => cb.onDelete(state));
  await condition(allHandlersFinished);
}

/** How a lifecycle execution runs its configure runs. */
export interface RunShapeFlags {
  /** Inside the lifecycle, not as child workflows. */
  inline: boolean;
  /** Pipelines may start as local activities, inside the workflow task (configure-run.ts). */
  localPipelines: boolean;
}

/**
 * How this lifecycle execution runs its configure runs. `inlineRuns` in the input says inline;
 * when the controller set it (a first execution, no state yet), an older worker may have taken
 * the first workflow task during a rolling upgrade and ignored it, so that case asks a patch
 * marker, one per new lifecycle: `local-pipelines` from the code that starts pipelines as local
 * activities, `inline-runs` before it (a history with the older marker replays as it ran). A
 * continue-as-new ran this code already and says both in its input. Asked once, at the start,
 * before any command.
 */
export function runShape(input: {
  inlineRuns?: true;
  localPipelines?: true;
  state?: LifecycleState;
}): RunShapeFlags {
  if (input.inlineRuns !== true) return { inline: false, localPipelines: false };
  if (input.state !== undefined) return { inline: true, localPipelines: input.localPipelines === true };
  if (patched('local-pipelines')) return { inline: true, localPipelines: true };
  return { inline: patched('inline-runs'), localPipelines: false };
}

/**
 * KratixRunStatus=failed while the last run failed, removed when a run gets through: one
 * visibility write when an object starts failing and one when it recovers, none otherwise.
 * Lifecycles recorded before inline runs never set it (their failed children showed it).
 */
export function markRunStatus(failed: boolean): void {
  const marked = workflowInfo().typedSearchAttributes.get(SA.runStatus) === RUN_FAILED;
  if (failed && !marked) upsertSearchAttributes([{ key: SA.runStatus, value: RUN_FAILED }]);
  else if (!failed && marked) upsertSearchAttributes([{ key: SA.runStatus, value: null }]);
}

/**
 * At delete: the update that removes KratixRunStatus if the object was failing, so a deleted
 * object's closed lifecycle is not listed with the failing ones. Empty otherwise (no command, no
 * visibility write); the patch marker is asked only then, so histories of deletes recorded before
 * replay unchanged.
 */
export function runStatusClearedAtDelete(): SearchAttributeUpdatePair[] {
  const marked = workflowInfo().typedSearchAttributes.get(SA.runStatus) === RUN_FAILED;
  return marked && patched('delete-clears-run-status') ? [{ key: SA.runStatus, value: null }] : [];
}

export { continueAsNew };
