// Messages, queries and inputs shared by the workflows and the controller (client side).
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ObjectRef, ResourceRef } from '../src/core/types.js';

export interface ChangedSignal {
  generation: number;
  specHash: string;
}
export interface ReconcileSignal {
  /** "manual" for the kratix.io/manual-reconciliation label, "promise-updated", ... */
  reason: string;
}

export const changedSignal = defineSignal<[ChangedSignal]>('changed');
export const reconcileSignal = defineSignal<[ReconcileSignal]>('reconcile');
export const deleteSignal = defineSignal('delete');
/** Sent by a lifecycle to its running configure run: finish the current pipeline, then stop. */
export const supersedeSignal = defineSignal('supersede');
/** Sent by a lifecycle to its running configure run: stop the current pipeline now (manual label). */
export const interruptSignal = defineSignal('interrupt');
export interface PausedSignal {
  /** The kratix.io/paused label (on the object, or for a Resource on its Promise). */
  paused: boolean;
}
export const pausedSignal = defineSignal<[PausedSignal]>('paused');

export type LifecyclePhase =
  | 'idle'
  | 'configuring'
  | 'waiting-retry'
  | 'deleting'
  /** A pipeline's workflow-control.yaml suspended it: waits for the manual label or a spec change. */
  | 'suspended'
  /** spec.requiredPromises not met: waits for the controller's word that a required Promise changed. */
  | 'waiting-requirements'
  /** kratix.io/paused: no runs until the label goes. */
  | 'paused';

export interface RunSummary {
  number: number;
  /** The run's id (`<lifecycle>/configure/<n>`): a child's workflow id, or an inline run's. */
  workflowId: string;
  outcome: RunOutcome | 'failed';
  generation: number;
  reason: string;
  error?: string;
  /** Workflow time the run started and ended (ISO). Absent in runs recorded before. */
  startedAt?: string;
  endedAt?: string;
  /** The lifecycle execution (Temporal run id) that ran it (inline) or started it (a child). */
  execution?: string;
  /** It ran inside the lifecycle (not a child execution). */
  inline?: boolean;
}

export interface LifecycleState {
  phase: LifecyclePhase;
  wantedGeneration: number;
  wantedHash: string;
  doneHash?: string;
  doneGeneration: number;
  runCount: number;
  consecutiveFailures: number;
  pendingReason?: string;
  intervalMs?: number;
  currentRun?: string;
  currentPipeline?: string;
  /** The run in flight (outcome not yet known). */
  running?: RunSummary;
  lastRuns: RunSummary[];
  /** ISO time of the next timed reconcile (interval or retry). */
  nextReconcileAt?: string;
  deleting: boolean;
  /** The kratix.io/paused label is set. */
  paused?: boolean;
  /** The last run ended waiting for a person or another object; no timed reconcile meanwhile. */
  blocked?: 'suspended' | 'requirements';
}

export const stateQuery = defineQuery<LifecycleState>('state');

export interface ResourceLifecycleInput {
  ref: ResourceRef;
  /** Carried across continue-as-new. */
  state?: LifecycleState;
  /**
   * Configure runs run inside the lifecycle, not as child workflows. Set by the controller and on
   * continue-as-new; lifecycles started without it (recorded before) keep their child runs, so
   * their histories replay unchanged.
   */
  inlineRuns?: true;
  /**
   * Its runs may start pipelines as local activities (configure-run.ts). Set on continue-as-new by
   * the code that does so; a first execution decides by a patch marker (entity-loop.ts runShape).
   */
  localPipelines?: true;
}

export interface PromiseLifecycleInput {
  name: string;
  uid: string;
  state?: LifecycleState;
  /** As ResourceLifecycleInput.inlineRuns. */
  inlineRuns?: true;
  /** As ResourceLifecycleInput.localPipelines. */
  localPipelines?: true;
}

/** suspended: workflow-control.yaml said so; blocked: spec.requiredPromises not met. */
export type RunOutcome = 'succeeded' | 'superseded' | 'gone' | 'suspended' | 'blocked';

export interface ConfigureRunInput {
  ref: ObjectRef;
  generation: number;
  reason: string;
  /**
   * Run with folded steps (configure-run.ts). Said by the lifecycle, so a run decides its
   * version from its input instead of a patch marker: each marker is two history events and a
   * search-attribute upsert (a visibility write), per run. Runs started without it decide by
   * patched('fold-run-steps').
   */
  folded?: true;
}

export interface ConfigureRunResult {
  outcome: RunOutcome;
  /** The reconcile interval in force (Promise, ConfigMap or default), read during the run. */
  intervalMs: number;
}

export interface DeleteRunInput {
  ref: ObjectRef;
}
