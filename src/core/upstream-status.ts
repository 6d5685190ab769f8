// Upstream Kratix's status vocabulary next to ours (pure). Our runs set PipelineCompleted /
// DeletePipelineCompleted (the seed contract) and WorksSucceeded; upstream tooling waits on
// ConfigureWorkflowCompleted, DeleteWorkflowCompleted and Reconciled and reads the workflow
// counters. Deriving them from ours in one place keeps the two vocabularies from drifting.
import { setCondition } from './status.js';
import type { Condition } from './types.js';

export const WORKS_SUCCEEDED = 'WorksSucceeded';

const IN_PROGRESS = new Set(['PipelineNotCompleted', 'PipelinePending']);
/** A pipeline's workflow-control.yaml suspended the workflow (ours and upstream's reason). */
const SUSPENDED = 'WorkflowSuspended';
/** kratix.io/paused: Reconciled says so until the label goes. */
const PAUSED = 'PausedReconciliation';

/** Upstream's ConfigureWorkflowCompleted / DeleteWorkflowCompleted for one of ours. */
function workflowCondition(ours: Condition, type: string, failedReason: string): Condition {
  const observed =
    ours.observedGeneration !== undefined ? { observedGeneration: ours.observedGeneration } : {};
  if (ours.status === 'True')
    return {
      type,
      status: 'True',
      reason: 'PipelinesExecutedSuccessfully',
      message: 'All pipelines completed',
      ...observed,
    };
  if (ours.status === 'False' && ours.reason === SUSPENDED)
    return { type, status: 'False', reason: SUSPENDED, message: ours.message ?? 'Suspended' };
  if (ours.status === 'False' && !IN_PROGRESS.has(ours.reason ?? ''))
    return { type, status: 'False', reason: failedReason, message: ours.message ?? 'A pipeline has failed' };
  return {
    type,
    status: 'False',
    reason: 'PipelinesInProgress',
    message:
      ours.reason === 'PipelinePending' && ours.message ? ours.message : 'Pipelines are still in progress',
  };
}

/** Upstream's Reconciled: the workflow first, then the writes to the state stores. */
function reconciledCondition(
  workflow: Condition | undefined,
  works: Condition | undefined,
  current: Condition | undefined,
): Condition | undefined {
  if (current?.reason === PAUSED) return undefined;
  const c = (status: Condition['status'], reason: string, message: string): Condition => ({
    type: 'Reconciled',
    status,
    reason,
    message,
  });
  if (workflow?.status === 'False' && workflow.reason === SUSPENDED)
    return c('Unknown', SUSPENDED, 'Suspended');
  if (workflow?.status === 'False')
    return workflow.reason === 'PipelinesInProgress'
      ? c('Unknown', 'WorkflowPending', 'Pending')
      : c('False', 'ConfigureWorkflowFailed', 'Failing');
  if (works?.status === 'Unknown') return c('Unknown', 'WorksPending', 'Pending');
  if (works?.status === 'False') return c('False', 'WorksFailing', 'Failing');
  if (workflow?.status === 'True' && works?.status === 'True') return c('True', 'Reconciled', 'Reconciled');
  return undefined;
}

/**
 * A status patch with upstream's conditions and counters added: whenever the patch carries the
 * conditions list, ConfigureWorkflowCompleted, DeleteWorkflowCompleted and Reconciled follow ours;
 * whenever it carries the pipeline phases, `workflows`, `workflowsSucceeded`, `workflowsFailed`
 * count them. `now` is passed in so this stays pure.
 */
export function withUpstreamStatus(patch: Record<string, unknown>, now: string): Record<string, unknown> {
  const out = { ...patch };
  if (Array.isArray(patch.conditions)) {
    let list = patch.conditions as Condition[];
    const find = (t: string) => list.find((c) => c.type === t);
    const configure = find('PipelineCompleted');
    if (configure)
      list = setCondition(
        list,
        workflowCondition(configure, 'ConfigureWorkflowCompleted', 'ConfigureWorkflowFailed'),
        now,
      );
    const del = find('DeletePipelineCompleted');
    if (del)
      list = setCondition(
        list,
        workflowCondition(del, 'DeleteWorkflowCompleted', 'DeleteWorkflowFailed'),
        now,
      );
    const reconciled = reconciledCondition(
      find('ConfigureWorkflowCompleted'),
      find(WORKS_SUCCEEDED),
      find('Reconciled'),
    );
    if (reconciled) list = setCondition(list, reconciled, now);
    out.conditions = list;
  }
  const kratix = patch.kratix as { workflows?: { pipelines?: { phase?: string }[] } } | undefined;
  const phases = kratix?.workflows?.pipelines;
  if (Array.isArray(phases)) {
    out.workflows = phases.length;
    out.workflowsSucceeded = phases.filter((p) => p.phase === 'Succeeded').length;
    out.workflowsFailed = phases.filter((p) => p.phase === 'Failed').length;
  }
  return out;
}

/**
 * Upstream's Promise summary fields behind its printer columns (Status, Kind, API Version,
 * Version): `status` Available/Unavailable, the API's kind and group/version, and the Promise's
 * `kratix.io/promise-version` label.
 */
export function promiseSummary(
  promise: {
    metadata: { labels?: Record<string, string> };
    spec?: {
      api?: {
        spec?: {
          group?: string;
          names?: { kind?: string };
          versions?: { name: string; storage?: boolean }[];
        };
      };
    };
  },
  available: boolean,
): Record<string, string> {
  const api = promise.spec?.api?.spec;
  const version = api?.versions?.find((v) => v.storage) ?? api?.versions?.[0];
  const out: Record<string, string> = { status: available ? 'Available' : 'Unavailable' };
  if (api?.names?.kind) out.kind = api.names.kind;
  if (api?.group && version?.name) out.apiVersion = `${api.group}/${version.name}`;
  const label = promise.metadata.labels?.['kratix.io/promise-version'];
  if (label) out.version = label;
  return out;
}
