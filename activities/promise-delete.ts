// Deleting a Promise: its Resources first (their delete pipelines run), then what it installed.
import { forgetAppliedIdentities } from '../src/kube/identity.js';
import { heartbeat, sleep } from '@temporalio/activity';
import { DELETE_FINALIZER, MANAGED_BY, MANAGED_BY_LABEL, PROMISE_NAME_LABEL } from '../src/core/constants.js';
import { apiTarget } from '../src/core/crd.js';
import { isNotFound } from '../src/kube/client.js';
import { deleteCrd } from '../src/kube/crds.js';
import {
  patchPromiseMetadata,
  patchPromiseStatus,
  readPromise,
  removeFinalizerPatch,
} from '../src/kube/objects.js';
import type { ActivityDeps } from './deps.js';
import { listResources, ownsCrd } from './promise-objects.js';

export function promiseDeleteActivities(deps: ActivityDeps) {
  const { kube } = deps;

  /** Promise delete, step 1: delete every resource and wait until their delete workflows let them go. */
  async function deleteResourcesOfPromise(input: { name: string }) {
    const p = await readPromise(kube, input.name);
    // The Resources of an API this Promise does not own (refused) are another Promise's.
    if (!p || !(await ownsCrd(kube, p))) return { deleted: 0 };
    const t = apiTarget(p.spec?.api);
    const items = await listResources(kube, p);
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
      const left = await listResources(kube, p);
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
    const p = await readPromise(kube, input.name, { fresh: true });
    if (p && p.metadata.uid === input.uid) {
      // Only the CRD this Promise installed: a refused Promise's API belongs to someone else.
      if (p.spec?.api?.metadata?.name && (await ownsCrd(kube, p)))
        await deleteCrd(kube, p.spec.api.metadata.name);
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
    forgetAppliedIdentities();
    await patchPromiseMetadata(kube, input.name, input.uid, removeFinalizerPatch(DELETE_FINALIZER));
  }

  return { deleteResourcesOfPromise, finishPromiseDelete };
}
