// After a Promise update: re-run its Resources in bounded batches and wait for their runs.
import { Context, heartbeat, sleep } from '@temporalio/activity';
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import { reconcileSignal, stateQuery } from '../workflows/definitions.js';
import { resourceWorkflowId } from '../src/core/names.js';
import type { KubeObject } from '../src/core/types.js';
import { connectTemporalClient, temporalDataConverter } from '../src/temporal/connection.js';
import { tracingClientInterceptors } from '../src/temporal/tracing.js';
import { readPlatformConfig, readPromise } from '../src/kube/objects.js';
import type { ActivityDeps } from './deps.js';
import { listResources } from './promise-objects.js';

/** Heartbeat details of rerunPromiseResources: where a retry resumes. */
interface RerunProgress {
  /** Index (in namespace/name order) of the first resource of the current batch. */
  offset: number;
  /** uid → the lifecycle's run count when signalled (-1: nothing to wait for). */
  baselines: Record<string, number>;
}
/** Default bound on how many resources re-run at once after a Promise update (ConfigMap: promiseUpdateConcurrency). */
export const DEFAULT_PROMISE_UPDATE_CONCURRENCY = 5;

export function promiseUpdateActivities(deps: ActivityDeps) {
  const { kube } = deps;

  /**
   * After a Promise update: re-runs every resource of the Promise, at most `concurrency` at a
   * time (ConfigMap kratix, key config: promiseUpdateConcurrency; default 5), and waits for each
   * batch. A Resource is done once its lifecycle finished a run that started after the signal,
   * however it ended (`state` query: a run numbered past the one current at the signal), so a
   * Resource that keeps failing does not hold the update. Progress is heartbeated and a retry
   * resumes from it; signal and query errors fail the attempt (and are retried), except a
   * lifecycle that does not exist, which has nothing to re-run.
   */
  async function rerunPromiseResources(input: { name: string; since: string }) {
    const p = await readPromise(kube, input.name);
    if (!p) return { resources: 0 };
    const config = await readPlatformConfig(kube);
    const concurrency = Math.max(
      1,
      Number(config.promiseUpdateConcurrency) || DEFAULT_PROMISE_UPDATE_CONCURRENCY,
    );
    // A stable order, so the offset a retry resumes from means the same resources.
    const key = (r: KubeObject) => `${r.metadata.namespace ?? ''}/${r.metadata.name}`;
    const items = (await listResources(kube, p)).sort((a, b) => key(a).localeCompare(key(b)));
    const ctx = Context.current();
    const resumed = ctx.info.heartbeatDetails as RerunProgress | undefined;
    let offset = typeof resumed?.offset === 'number' ? resumed.offset : 0;
    let baselines: Record<string, number> = resumed?.baselines ?? {};
    if (offset > 0) ctx.log.info('resuming Promise update re-runs', { promise: input.name, offset });
    const connection = await connectTemporalClient(deps.temporal);
    try {
      // Traced: the Resources' re-runs join the trace of the Promise update.
      const client = new Client({
        connection,
        namespace: ctx.info.workflowNamespace,
        interceptors: tracingClientInterceptors(),
        dataConverter: temporalDataConverter(deps.temporal),
      });
      const lifecycle = (r: KubeObject) =>
        client.workflow.getHandle(
          resourceWorkflowId({
            promise: input.name,
            namespace: r.metadata.namespace ?? '',
            name: r.metadata.name,
            uid: r.metadata.uid ?? '',
          }),
        );
      /** Runs the lifecycle has started so far; undefined when it has no lifecycle (nothing to wait for). */
      const runCount = async (r: KubeObject) => {
        try {
          const state = await lifecycle(r).query(stateQuery);
          // A paused lifecycle runs nothing until resumed: nothing to wait for.
          return state.deleting || state.paused ? undefined : state;
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) return undefined;
          throw err;
        }
      };
      for (; offset < items.length; offset += concurrency, baselines = {}) {
        const batch = items.slice(offset, offset + concurrency);
        for (const r of batch) {
          const uid = r.metadata.uid ?? '';
          if (baselines[uid] !== undefined) continue; // signalled by an earlier attempt
          const state = await runCount(r);
          if (!state) {
            baselines[uid] = -1;
            ctx.log.info('no lifecycle to re-run', { resource: key(r) });
            continue;
          }
          try {
            await lifecycle(r).signal(reconcileSignal, { reason: 'promise-updated' });
          } catch (err) {
            if (!(err instanceof WorkflowNotFoundError)) throw err;
            baselines[uid] = -1;
            continue;
          }
          baselines[uid] = state.runCount;
          heartbeat({ offset, baselines } satisfies RerunProgress);
        }
        // Wait until every resource of the batch finished a run that started after the signal.
        for (;;) {
          heartbeat({ offset, baselines } satisfies RerunProgress);
          const pending: string[] = [];
          for (const r of batch) {
            const baseline = baselines[r.metadata.uid ?? ''] ?? -1;
            if (baseline < 0) continue;
            const state = await runCount(r);
            if (state && !state.lastRuns.some((run) => run.number > baseline)) pending.push(key(r));
          }
          if (pending.length === 0) break;
          await sleep(1000);
        }
      }
    } finally {
      await connection.close();
    }
    return { resources: items.length, concurrency };
  }

  return { rerunPromiseResources };
}
