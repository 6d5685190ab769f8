import { ApplicationFailure, Context, heartbeat, sleep } from '@temporalio/activity';
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import { reconcileSignal, stateQuery } from '../workflows/definitions.js';
import {
  DELETE_FINALIZER,
  KRATIX_GROUP,
  KRATIX_VERSION,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  PROMISE_NAME_LABEL,
} from '../src/core/constants.js';
import { apiTarget, crdClaim, resourceCrdFor } from '../src/core/crd.js';
import { resourceWorkflowId } from '../src/core/names.js';
import { findCondition, setCondition } from '../src/core/status.js';
import type { Condition, KratixPromise, KubeObject } from '../src/core/types.js';
import { validatePromise } from '../src/core/validation.js';
import { permissionsNotAllowedMessage, promisePermissionDenials } from '../src/core/permissions.js';
import { describeApiError, isNotFound, statusCode } from '../src/kube/client.js';
import { applyCrd, deleteCrd, readCrd, waitCrdEstablished } from '../src/kube/crds.js';
import { recordEvent } from '../src/kube/events.js';
import { grantResourceAccess } from '../src/kube/install.js';
import { connectTemporalClient } from '../src/temporal/connection.js';
import {
  patchPromiseMetadata,
  patchPromiseStatus,
  readPlatformConfig,
  readPromise,
  removeFinalizerPatch,
} from '../src/kube/objects.js';
import { objectAccess } from './access.js';
import type { ActivityDeps } from './deps.js';
import { writeStaticDependencies } from './output.js';
import { reconcileIntervalMs } from './subject.js';

const now = () => new Date().toISOString();

/** Heartbeat details of rerunPromiseResources: where a retry resumes. */
interface RerunProgress {
  /** Index (in namespace/name order) of the first resource of the current batch. */
  offset: number;
  /** uid → the lifecycle's run count when signalled (-1: nothing to wait for). */
  baselines: Record<string, number>;
}
/** Default bound on how many resources re-run at once after a Promise update (ConfigMap: promiseUpdateConcurrency). */
export const DEFAULT_PROMISE_UPDATE_CONCURRENCY = 5;

export function promiseActivities(deps: ActivityDeps) {
  const { kube } = deps;
  const target = (p: KratixPromise) => ({
    apiVersion: `${KRATIX_GROUP}/${KRATIX_VERSION}`,
    kind: 'Promise',
    name: p.metadata.name,
    uid: p.metadata.uid,
  });

  async function setAvailable(
    p: KratixPromise,
    c: Omit<Condition, 'type'>,
    message: string,
    generation: number,
  ) {
    await patchPromiseStatus(kube, p.metadata.name, {
      message,
      observedGeneration: generation,
      conditions: setCondition(
        p.status?.conditions as Condition[] | undefined,
        { type: 'Available', ...c },
        now(),
      ),
    });
  }

  /**
   * Refuses the Promise: Available=False with `reason`, a Warning event, and a non-retryable
   * failure (the lifecycle's backoff tries again later, e.g. once a conflicting owner is gone).
   */
  async function refuse(
    p: KratixPromise,
    problems: string[],
    generation: number,
    reason = 'InvalidPromise',
    prefix = 'Invalid Promise',
  ): Promise<never> {
    const message = `${prefix}: ${problems.join('; ')}`;
    await setAvailable(p, { status: 'False', reason, message }, message, generation);
    await recordEvent(kube, target(p), 'Warning', reason, message);
    throw ApplicationFailure.nonRetryable(message, 'InvalidPromise');
  }

  /**
   * Why `p` may not install its API's CRD (undefined: it may). A CRD belongs to the Promise whose
   * name and uid it records; one another live Promise owns, or that kratix-temporal did not
   * create, is never taken over. A CRD whose owner is gone (a forced delete) is adopted.
   */
  async function crdConflict(p: KratixPromise): Promise<string | undefined> {
    const crdName = p.spec?.api?.metadata?.name;
    if (!crdName) return undefined;
    const claim = crdClaim(await readCrd(kube, crdName), { name: p.metadata.name, uid: p.metadata.uid });
    if (claim.kind === 'foreign')
      return (
        `CustomResourceDefinition ${crdName} already exists and was not installed by a Promise ` +
        `(no ${MANAGED_BY_LABEL}=${MANAGED_BY} label); a Promise never takes over an existing API`
      );
    if (claim.kind !== 'promise') return undefined;
    const owner = claim.name === p.metadata.name ? undefined : await readPromise(kube, claim.name);
    if (!owner || (claim.uid && owner.metadata.uid !== claim.uid)) return undefined;
    return (
      `CustomResourceDefinition ${crdName} belongs to Promise "${claim.name}"; two Promises cannot ` +
      `share an API (change spec.api's group or names, or delete Promise "${claim.name}" first)`
    );
  }

  /** True when the Promise's CRD exists and was installed for this Promise (name and uid). */
  async function ownsCrd(p: KratixPromise): Promise<boolean> {
    const crdName = p.spec?.api?.metadata?.name;
    if (!crdName) return false;
    const claim = crdClaim(await readCrd(kube, crdName), { name: p.metadata.name, uid: p.metadata.uid });
    return claim.kind === 'ours';
  }

  /**
   * Validates the Promise and installs its API as a CRD, then writes its static dependencies.
   * Nothing is installed when the Promise is invalid; the API server's own rejection of the CRD is
   * reported the same way. `markAvailable: false` leaves availability to the promise configure run.
   */
  async function installPromise(input: {
    name: string;
    uid: string;
    generation: number;
    markAvailable?: boolean;
  }) {
    const p = await readPromise(kube, input.name);
    if (!p || p.metadata.uid !== input.uid) return { gone: true, intervalMs: 0 };
    const intervalMs = await reconcileIntervalMs(kube, p);
    const problems = validatePromise(p);
    if (problems.length) await refuse(p, problems, input.generation);
    const denials = promisePermissionDenials(p, (await readPlatformConfig(kube)).pipelinePermissions);
    if (denials.length)
      await refuse(
        p,
        [permissionsNotAllowedMessage(denials)],
        input.generation,
        'PermissionsNotAllowed',
        'Promise refused',
      );

    const api = p.spec?.api;
    if (api) {
      const conflict = await crdConflict(p);
      if (conflict) await refuse(p, [conflict], input.generation, 'APIConflict', 'Promise refused');
      try {
        const t = apiTarget(api);
        if (t) await grantResourceAccess(kube, p.metadata.name, t);
        await applyCrd(kube, resourceCrdFor(p.metadata.name, api, p.metadata.uid));
      } catch (err) {
        const code = statusCode(err);
        if (code === 422 || code === 400)
          await refuse(p, [`spec.api was rejected: ${describeApiError(err)}`], input.generation);
        throw err;
      }
      await waitCrdEstablished(kube, api.metadata.name);
    }
    if (input.markAvailable === false) {
      await writeStaticDependencies(
        deps,
        p,
        objectAccess(kube, { type: 'promise', promise: input.name, uid: input.uid }),
      );
      return { gone: false, intervalMs };
    }
    const fresh = (await readPromise(kube, input.name)) ?? p;
    const wasAvailable = findCondition(fresh.status, 'Available')?.status === 'True';
    await setAvailable(
      fresh,
      { status: 'True', reason: 'PromiseAvailable', message: 'Ready to fulfil resource requests' },
      'Promise installed',
      input.generation,
    );
    if (!wasAvailable)
      await recordEvent(
        kube,
        target(fresh),
        'Normal',
        'Available',
        'Promise installed: ready to fulfil resource requests',
      );
    return { gone: false, intervalMs };
  }

  async function listResources(p: KratixPromise): Promise<KubeObject[]> {
    const t = apiTarget(p.spec?.api);
    if (!t) return [];
    try {
      const list = (await kube.custom.listClusterCustomObject({
        group: t.group,
        version: t.version,
        plural: t.plural,
      })) as {
        items: KubeObject[];
      };
      return list.items;
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
  }

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
    const items = (await listResources(p)).sort((a, b) => key(a).localeCompare(key(b)));
    const ctx = Context.current();
    const resumed = ctx.info.heartbeatDetails as RerunProgress | undefined;
    let offset = typeof resumed?.offset === 'number' ? resumed.offset : 0;
    let baselines: Record<string, number> = resumed?.baselines ?? {};
    if (offset > 0) ctx.log.info('resuming Promise update re-runs', { promise: input.name, offset });
    const connection = await connectTemporalClient(deps.temporal);
    try {
      const client = new Client({ connection, namespace: ctx.info.workflowNamespace });
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
          return state.deleting ? undefined : state;
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

  /** Promise delete, step 1: delete every resource and wait until their delete workflows let them go. */
  async function deleteResourcesOfPromise(input: { name: string }) {
    const p = await readPromise(kube, input.name);
    // The Resources of an API this Promise does not own (refused) are another Promise's.
    if (!p || !(await ownsCrd(p))) return { deleted: 0 };
    const t = apiTarget(p.spec?.api);
    const items = await listResources(p);
    for (const r of items) {
      if (r.metadata.deletionTimestamp) continue;
      await kube.custom
        .deleteNamespacedCustomObject({
          group: t!.group,
          version: t!.version,
          plural: t!.plural,
          namespace: r.metadata.namespace ?? '',
          name: r.metadata.name,
        })
        .catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
    }
    for (;;) {
      const left = await listResources(p);
      heartbeat({ remaining: left.length });
      if (left.length === 0) break;
      await patchPromiseStatus(kube, input.name, {
        message: `Deleting: waiting for ${left.length} resource(s) to be deleted`,
      });
      await sleep(1000);
    }
    return { deleted: items.length };
  }

  /**
   * Promise delete, last step: remove the CRD and every ServiceAccount, Role, ClusterRole and
   * binding this project created for the Promise (by label; a pre-existing custom ServiceAccount
   * carries none of our labels and stays), then release the finalizer.
   */
  async function finishPromiseDelete(input: { name: string; uid: string }) {
    const p = await readPromise(kube, input.name);
    if (p && p.metadata.uid === input.uid) {
      // Only the CRD this Promise installed: a refused Promise's API belongs to someone else.
      if (p.spec?.api?.metadata?.name && (await ownsCrd(p))) await deleteCrd(kube, p.spec.api.metadata.name);
      const labelSelector = `${PROMISE_NAME_LABEL}=${input.name},${MANAGED_BY_LABEL}=${MANAGED_BY}`;
      const ignore404 = (err: unknown) => {
        if (!isNotFound(err)) throw err;
      };
      for (const b of (await kube.rbac.listClusterRoleBinding({ labelSelector })).items) {
        await kube.rbac.deleteClusterRoleBinding({ name: b.metadata!.name! }).catch(ignore404);
      }
      for (const r of (await kube.rbac.listClusterRole({ labelSelector })).items) {
        await kube.rbac.deleteClusterRole({ name: r.metadata!.name! }).catch(ignore404);
      }
      for (const b of (await kube.rbac.listRoleBindingForAllNamespaces({ labelSelector })).items) {
        await kube.rbac
          .deleteNamespacedRoleBinding({ name: b.metadata!.name!, namespace: b.metadata!.namespace! })
          .catch(ignore404);
      }
      for (const r of (await kube.rbac.listRoleForAllNamespaces({ labelSelector })).items) {
        await kube.rbac
          .deleteNamespacedRole({ name: r.metadata!.name!, namespace: r.metadata!.namespace! })
          .catch(ignore404);
      }
      for (const sa of (await kube.core.listServiceAccountForAllNamespaces({ labelSelector })).items) {
        await kube.core
          .deleteNamespacedServiceAccount({ name: sa.metadata!.name!, namespace: sa.metadata!.namespace! })
          .catch(ignore404);
      }
    }
    await patchPromiseMetadata(kube, input.name, input.uid, removeFinalizerPatch(DELETE_FINALIZER));
  }

  return {
    installPromise,
    rerunPromiseResources,
    deleteResourcesOfPromise,
    finishPromiseDelete,
  };
}
