import { patched, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  kube,
  KUBE_OPTIONS,
  LOCAL_KUBE_OPTIONS,
  localKube,
  PIPELINE_OPTIONS,
  pipelines,
} from './activities-proxy.js';
import { supersedeSignal, type ConfigureRunInput, type ConfigureRunResult } from './definitions.js';
import { describeRef } from './describe.js';

/**
 * One configure run of a Resource: its pipelines in order, each with its own identity, status
 * merged after each. A child workflow so each run is its own execution in the Web UI, to open,
 * reset or replay.
 */
export async function configureRun(input: ConfigureRunInput): Promise<ConfigureRunResult> {
  let superseded = false;
  setHandler(supersedeSignal, () => {
    superseded = true;
  });
  const { ref } = input;
  const runId = workflowInfo().workflowId;
  // Runs started before this change replay with regular activities for these steps.
  const local = patched('local-configure-steps');
  const steps = local ? localKube : kube;
  const plan = await steps.startConfigureRun({
    ref,
    generation: input.generation,
    reason: input.reason,
    runId,
  });
  if (plan.gone) return { outcome: 'gone', intervalMs: plan.intervalMs };

  for (const [i, p] of plan.pipelines.entries()) {
    if (superseded) return { outcome: 'superseded', intervalMs: plan.intervalMs };
    setCurrentDetails(
      `**${describeRef(ref)}** · generation ${input.generation} · reason: ${input.reason}\n\n` +
        plan.pipelines
          .map((q, j) => `${j < i ? '✅' : j === i ? '▶️' : '⏳'} ${q.name} (${q.containers} containers)`)
          .join('\n\n'),
    );
    const identity = [{ ref, action: 'configure' as const, pipeline: p.name }] as const;
    const summary = `identity for pipeline ${p.name}`;
    if (local)
      await localKube.ensurePipelineIdentity.executeWithOptions({ ...LOCAL_KUBE_OPTIONS, summary }, [
        ...identity,
      ]);
    else await kube.ensurePipelineIdentity.executeWithOptions({ ...KUBE_OPTIONS, summary }, [...identity]);
    await pipelines.runPipeline.executeWithOptions(
      {
        ...PIPELINE_OPTIONS,
        summary: `pipeline ${p.name} (${i + 1}/${plan.pipelines.length}): ${p.containers} container(s)`,
      },
      [
        {
          ref,
          action: 'configure',
          pipeline: p.name,
          index: i,
          total: plan.pipelines.length,
          runId,
          generation: input.generation,
        },
      ],
    );
  }
  if (superseded) return { outcome: 'superseded', intervalMs: plan.intervalMs };
  await steps.completeConfigureRun({ ref, generation: input.generation, runId });
  setCurrentDetails(`**${describeRef(ref)}** · generation ${input.generation}: all pipelines succeeded`);
  return { outcome: 'succeeded', intervalMs: plan.intervalMs };
}
