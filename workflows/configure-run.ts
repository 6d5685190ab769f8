import {
  CancellationScope,
  condition,
  patched,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import {
  kube,
  KUBE_OPTIONS,
  LOCAL_KUBE_OPTIONS,
  localKube,
  LOCAL_PIPELINE_OPTIONS,
  localPipelines,
  PIPELINE_OPTIONS,
  pipelines,
} from './activities-proxy.js';
import type { RunPipelineInput } from '../activities/pipeline-runs.js';
import {
  interruptSignal,
  supersedeSignal,
  type ConfigureRunInput,
  type ConfigureRunResult,
  type LifecycleState,
} from './definitions.js';
import { describeRef } from './describe.js';

/** What a run in flight is told by its lifecycle: a newer spec, or the manual label. */
export interface RunControls {
  /** A newer spec: finish the pipeline in flight, then stop. */
  superseded: boolean;
  /** The manual label: the pipeline in flight was cancelled; stop. */
  interrupted: boolean;
  /** The pipeline in flight, cancelled by an interrupt. */
  pipelineScope?: CancellationScope;
  /** Told each pipeline's name as it starts (the lifecycle's `state` query shows it). */
  onPipeline?: (name: string) => void;
  /**
   * Asked after each workflow-control wait: true stops the run (`yielded`) so its lifecycle can
   * continue-as-new; a pipeline that keeps asking to be re-run would otherwise grow one history.
   */
  shouldYield?: () => boolean;
  yielded?: boolean;
}

export function newRunControls(hooks: Pick<RunControls, 'onPipeline' | 'shouldYield'> = {}): RunControls {
  return { superseded: false, interrupted: false, ...hooks };
}

/** The manual label during a run: stop the pipeline in flight (its containers are killed). */
export function interruptRun(controls: RunControls): void {
  controls.interrupted = true;
  controls.pipelineScope?.cancel();
}

export interface RunShape {
  /** The run's id: its folder, Pod names, logs and status use it (a child's workflow id). */
  runId: string;
  /** Folded steps (see below). */
  fold: boolean;
  /** The short Kubernetes steps as local activities. */
  local: boolean;
  /** Whether workflow-control.yaml is acted on (asked lazily: a patch marker in older runs). */
  workflowControl: () => boolean;
  /** Pipelines may start as local activities, when the plan says how long (RunShapeFlags). */
  localPipelines?: boolean;
}

/**
 * One configure run of a Resource or Promise: its pipelines in order, each with its own identity,
 * status merged after each. Runs inside the lifecycle (one execution, fewer workflow tasks) or, for
 * histories recorded before that, as the `configureRun` child workflow below; both issue the same
 * activities in the same order.
 */
export async function performConfigureRun(
  input: ConfigureRunInput,
  shape: RunShape,
  controls: RunControls,
): Promise<ConfigureRunResult> {
  const { ref } = input;
  const { runId, fold, local } = shape;
  const steps = local ? localKube : kube;
  const plan = await steps.startConfigureRun({
    ref,
    generation: input.generation,
    reason: input.reason,
    runId,
    ...(fold ? { fold: true } : {}),
  });
  let completed = false;
  if (plan.gone) return { outcome: 'gone', intervalMs: plan.intervalMs };

  for (const [i, p] of plan.pipelines.entries()) {
    if (controls.superseded) return { outcome: 'superseded', intervalMs: plan.intervalMs };
    setCurrentDetails(
      `**${describeRef(ref)}** · generation ${input.generation} · reason: ${input.reason}\n\n` +
        plan.pipelines
          .map((q, j) => `${j < i ? '✅' : j === i ? '▶️' : '⏳'} ${q.name} (${q.containers} containers)`)
          .join('\n\n'),
    );
    const identity = [{ ref, action: 'configure' as const, pipeline: p.name }] as const;
    const summary = `identity for pipeline ${p.name}`;
    controls.onPipeline?.(p.name);
    const startsRun = plan.folded === true && i === 0;
    // A folded run's start step already ensured the first pipeline's identity.
    if (!startsRun) {
      if (local)
        await localKube.ensurePipelineIdentity.executeWithOptions({ ...LOCAL_KUBE_OPTIONS, summary }, [
          ...identity,
        ]);
      else await kube.ensurePipelineIdentity.executeWithOptions({ ...KUBE_OPTIONS, summary }, [...identity]);
    }
    // A pipeline may ask (workflow-control.yaml) to be re-run after a delay: attempt counts them.
    for (let attempt = 1; ; attempt++) {
      if (controls.interrupted) return { outcome: 'superseded', intervalMs: plan.intervalMs };
      const scope = new CancellationScope();
      controls.pipelineScope = scope;
      let result;
      try {
        result = await scope.run(() =>
          runPipeline(
            {
              ref,
              action: 'configure',
              pipeline: p.name,
              index: i,
              total: plan.pipelines.length,
              runId,
              generation: input.generation,
              ...(attempt > 1 ? { attempt } : {}),
              ...(startsRun && attempt === 1 ? { startRun: true } : {}),
              ...(fold && i === plan.pipelines.length - 1 ? { completeRun: true } : {}),
            },
            `pipeline ${p.name} (${i + 1}/${plan.pipelines.length}): ${p.containers} container(s)` +
              (attempt > 1 ? ` (attempt ${attempt})` : ''),
            // Only the last: a signal waits while a local attempt runs, and a spec change during an
            // earlier pipeline must stop the run before the next one starts.
            shape.localPipelines && i === plan.pipelines.length - 1 ? plan.handOffAfterMs : undefined,
          ),
        );
      } catch (err) {
        // Cancelled for the manual label: the stopped attempt reports a cancellation or an error.
        if (controls.interrupted) return { outcome: 'superseded', intervalMs: plan.intervalMs };
        throw err;
      } finally {
        controls.pipelineScope = undefined;
      }
      if ('completed' in result && result.completed) completed = true;
      const control = 'control' in result ? result.control : undefined;
      if (!control || !shape.workflowControl()) break;
      if (control.kind === 'suspend') {
        setCurrentDetails(
          `**${describeRef(ref)}** · suspended by pipeline ${p.name}: waiting for the manual-reconciliation label or a spec change`,
        );
        return { outcome: 'suspended', intervalMs: plan.intervalMs };
      }
      setCurrentDetails(
        `**${describeRef(ref)}** · pipeline ${p.name} asked to be re-run after ${control.retryAfter} (attempt ${attempt})`,
      );
      // A durable timer: a newer spec or the manual label cut it short and restart the run.
      await condition(() => controls.superseded || controls.interrupted, control.retryAfterMs);
      if (controls.superseded || controls.interrupted)
        return { outcome: 'superseded', intervalMs: plan.intervalMs };
      if (controls.shouldYield?.()) {
        controls.yielded = true;
        return { outcome: 'superseded', intervalMs: plan.intervalMs };
      }
    }
  }
  if (controls.superseded) return { outcome: 'superseded', intervalMs: plan.intervalMs };
  if (!completed) await steps.completeConfigureRun({ ref, generation: input.generation, runId });
  setCurrentDetails(`**${describeRef(ref)}** · generation ${input.generation}: all pipelines succeeded`);
  return { outcome: 'succeeded', intervalMs: plan.intervalMs };
}

/**
 * One pipeline. With `handOffAfterMs` (quick executors, lifecycles whose runs may) it starts as a
 * local activity, inside the workflow task that schedules it: no activity task, no second workflow
 * task, about half the Temporal work of a run. One still running after that long is handed, still
 * running, to the regular activity scheduled next, which shows as pending, heartbeats and can be
 * cancelled (activities/handed-off-runs.ts). The local attempt does not heartbeat: meanwhile a
 * signal waits for its workflow task, at most `handOffAfterMs`, as a cancellation waited for a
 * regular run's first heartbeat (also 5 s).
 */
async function runPipeline(input: RunPipelineInput, summary: string, handOffAfterMs?: number) {
  if (handOffAfterMs !== undefined) {
    const first = await localPipelines.runPipeline.executeWithOptions(
      { ...LOCAL_PIPELINE_OPTIONS, summary: `${summary}, in the workflow task` },
      [{ ...input, handOffAfterMs }],
    );
    if (!('handedOff' in first)) return first;
  }
  const result = await pipelines.runPipeline.executeWithOptions({ ...PIPELINE_OPTIONS, summary }, [
    { ...input, ...(handOffAfterMs !== undefined ? { adopt: true } : {}) },
  ]);
  // Only a local attempt hands a run over.
  if ('handedOff' in result) throw new Error(`pipeline ${input.pipeline} was handed over twice`);
  return result;
}

/** The configure run in flight inside a lifecycle, and how the lifecycle's signals reach it. */
export class InlineRun {
  private controls: RunControls | undefined;

  /** @param localPipelines the lifecycle's runs may start pipelines as local activities. */
  constructor(private readonly localPipelines = false) {}

  /** Runs it with folded local steps; the lifecycle's `state` shows the pipeline running now. */
  async run(input: ConfigureRunInput, runId: string, state: LifecycleState): Promise<ConfigureRunResult> {
    const controls = newRunControls({
      onPipeline: (name) => (state.currentPipeline = name),
      shouldYield: () => workflowInfo().continueAsNewSuggested,
    });
    this.controls = controls;
    // `kratix-temporal runs` lists the runs marked so from the lifecycle's state.
    if (state.running) state.running.inline = true;
    try {
      const shape = {
        runId,
        fold: true,
        local: true,
        workflowControl: () => true,
        localPipelines: this.localPipelines,
      };
      const result = await performConfigureRun(input, shape, controls);
      // Stopped for a long history: the next execution runs it again, from its first pipeline.
      if (controls.yielded) state.pendingReason ??= input.reason;
      return result;
    } finally {
      this.controls = undefined;
    }
  }

  /** A newer spec: the pipeline in flight finishes, then the run stops. */
  supersede(): void {
    if (this.controls) this.controls.superseded = true;
  }

  /** The manual label: the pipeline in flight is cancelled, then the run stops. */
  interrupt(): void {
    if (this.controls) interruptRun(this.controls);
  }
}

/**
 * One configure run as its own child workflow: how lifecycles recorded before inline runs ran
 * (`ResourceLifecycleInput.inlineRuns`); kept so their histories replay and their runs finish.
 */
export async function configureRun(input: ConfigureRunInput): Promise<ConfigureRunResult> {
  const controls = newRunControls();
  setHandler(supersedeSignal, () => {
    controls.superseded = true;
  });
  setHandler(interruptSignal, () => interruptRun(controls));
  // Folded steps: the start step also ensures the first pipeline's identity, the first pipeline
  // writes the start status with its Running phase, and the last one completes the run: two
  // local activities and two status patches fewer per run. Folded runs use local activities for
  // the short steps. The lifecycle says `folded` in the input; runs started before it did decide
  // by a patch marker (asked first, so they recorded one marker, not two: each also upserts the
  // TemporalChangeVersion search attribute). Runs recorded before either change replay with
  // regular activities for these steps.
  const fold = input.folded === true || patched('fold-run-steps');
  const local = fold || patched('local-configure-steps');
  return performConfigureRun(
    input,
    { runId: workflowInfo().workflowId, fold, local, workflowControl: () => patched('workflow-control') },
    controls,
  );
}
