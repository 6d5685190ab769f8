import { condition, executeChild, setCurrentDetails, workflowInfo } from '@temporalio/workflow';
import { deleteRunId } from '../src/core/names.js';
import { searchAttributesFor } from '../src/core/search-attributes.js';
import { rootCauseMessage } from '../src/core/errors.js';
import type { ObjectRef } from '../src/core/types.js';
import { kube, KUBE_OPTIONS, PIPELINE_OPTIONS, pipelines, stateStore } from './activities-proxy.js';
import type { DeleteRunInput, LifecycleState } from './definitions.js';
import { describeRef } from './describe.js';

/**
 * The delete run of a Resource or Promise: its single delete pipeline (if any) with the object,
 * status included, as input and output ignored; then its files leave the state stores.
 */
export async function deleteRun(input: DeleteRunInput): Promise<void> {
  const { ref } = input;
  const runId = workflowInfo().workflowId;
  const plan = await kube.startDeleteRun({ ref });
  if (!plan.gone && plan.pipeline) {
    const p = plan.pipeline;
    setCurrentDetails(`**${describeRef(ref)}** · running delete pipeline ${p.name}`);
    await kube.ensurePipelineIdentity.executeWithOptions(
      { ...KUBE_OPTIONS, summary: `identity for delete pipeline ${p.name}` },
      [{ ref, action: 'delete', pipeline: p.name }],
    );
    await pipelines.runPipeline.executeWithOptions(
      { ...PIPELINE_OPTIONS, summary: `delete pipeline ${p.name}: ${p.containers} container(s)` },
      [{ ref, action: 'delete', pipeline: p.name, index: 0, total: 1, runId, generation: 0 }],
    );
  }
  setCurrentDetails(`**${describeRef(ref)}** · removing files from the state stores`);
  await stateStore.removeFromStateStores({ ref });
}

/**
 * Runs the delete child until it succeeds. A failed delete keeps the finalizer (the object stays,
 * with DeletePipelineCompleted=False and an event) and is retried when the manual-reconciliation
 * label is set.
 */
export async function deleteUntilDone(
  ref: ObjectRef,
  parentId: string,
  state: LifecycleState,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await executeChild(deleteRun, {
        workflowId: `${deleteRunId(parentId)}${attempt > 1 ? `/${attempt}` : ''}`,
        args: [{ ref }],
        staticSummary: `delete ${describeRef(ref)}${attempt > 1 ? ` (attempt ${attempt})` : ''}`,
        typedSearchAttributes: searchAttributesFor(ref, 'delete'),
      });
      return;
    } catch (err) {
      state.pendingReason = undefined;
      await kube.markDeleteBlocked({ ref, error: rootCauseMessage(err, 'delete failed') });
      await condition(() => state.pendingReason === 'manual');
    }
  }
}
