import {
  continueAsNew,
  patched,
  ParentClosePolicy,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import { configureRunId, resourceWorkflowId } from '../src/core/names.js';
import { SA, searchAttributesFor } from '../src/core/search-attributes.js';
import { kube } from './activities-proxy.js';
import { configureRun, InlineRun } from './configure-run.js';
import { deleteUntilDone } from './delete-run.js';
import { interruptSignal, supersedeSignal, type ResourceLifecycleInput } from './definitions.js';
import {
  initialState,
  markRunStatus,
  runEntityLoop,
  runShape,
  runStatusClearedAtDelete,
} from './entity-loop.js';

/**
 * The durable lifecycle of one Resource (one incarnation: the workflow id carries the uid).
 * Configure runs run inside it (`inlineRuns`); lifecycles started before that ran each as a child
 * workflow, and keep doing so until their next continue-as-new.
 */
export async function resourceLifecycle(input: ResourceLifecycleInput): Promise<void> {
  const { ref } = input;
  const shape = runShape(input);
  const inlineRuns = shape.inline;
  const state = input.state ?? initialState();
  const selfId = workflowInfo().workflowId ?? resourceWorkflowId(ref);
  let child: ChildWorkflowHandle<typeof configureRun> | undefined;
  const inline = new InlineRun(shape.localPipelines);

  await runEntityLoop(state, {
    uid: ref.uid,
    async run(ctx) {
      const id = configureRunId(selfId, ctx.number);
      state.currentRun = id;
      const args = { ref, generation: ctx.generation, reason: ctx.reason, folded: true as const };
      if (inlineRuns) return { ...(await inline.run(args, id, state)), runId: id };
      child = await startChild(configureRun, {
        workflowId: id,
        args: [args],
        staticSummary: `configure ${ref.kind} ${ref.namespace}/${ref.name} #${ctx.number} (${ctx.reason})`,
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        typedSearchAttributes: searchAttributesFor(ref, 'configure'),
      });
      try {
        const result = await child.result();
        return { ...result, runId: id };
      } finally {
        child = undefined;
      }
    },
    async supersede() {
      inline.supersede();
      await child?.signal(supersedeSignal);
    },
    async interrupt() {
      inline.interrupt();
      await child?.signal(interruptSignal);
    },
    ...(inlineRuns ? { onRunEnded: markRunStatus } : {}),
    async onPaused(paused) {
      await kube.markPaused({ ref, paused });
    },
    async onDelete() {
      upsertSearchAttributes([{ key: SA.workflowAction, value: 'delete' }, ...runStatusClearedAtDelete()]);
      // Histories recorded before the delete pipeline existed only released the finalizer.
      if (patched('resource-delete-run')) await deleteUntilDone(ref, selfId, state);
      await kube.finishResourceDelete({ ref });
    },
    // The next execution runs its configure runs inline, whichever way this one ran them.
    continueAsNew: (s) =>
      continueAsNew<typeof resourceLifecycle>({ ref, state: s, inlineRuns: true, localPipelines: true }),
  });
}
