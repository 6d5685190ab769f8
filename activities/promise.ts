// Installing a Promise: validation, policy, its API (CRD) and static dependencies, availability.
import { ApplicationFailure } from '@temporalio/activity';
import { KRATIX_GROUP, KRATIX_VERSION, MANAGED_BY, MANAGED_BY_LABEL } from '../src/core/constants.js';
import { apiTarget, crdClaim, resourceCrdFor } from '../src/core/crd.js';
import { findCondition, setCondition } from '../src/core/status.js';
import type { Condition, KratixPromise } from '../src/core/types.js';
import { validatePromise } from '../src/core/validation.js';
import { promiseSummary } from '../src/core/upstream-status.js';
import {
  UNSUPPORTED_CONDITION,
  UNSUPPORTED_REASON,
  unsupportedMessage,
  unsupportedPromiseFields,
} from '../src/core/upstream-compat.js';
import { permissionsNotAllowedMessage, promisePermissionDenials } from '../src/core/permissions.js';
import { describeApiError, statusCode } from '../src/kube/client.js';
import { applyCrd, readCrd, waitCrdEstablished } from '../src/kube/crds.js';
import { recordEvent } from '../src/kube/events.js';
import { grantResourceAccess } from '../src/kube/install.js';
import { patchPromiseStatus, readPlatformConfig, readPromise } from '../src/kube/objects.js';
import { objectAccess } from './access.js';
import type { ActivityDeps } from './deps.js';
import { writeStaticDependencies } from './output.js';
import { checkRequirements } from './requirements.js';
import { reconcileIntervalMs } from './subject.js';

const now = () => new Date().toISOString();

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
      ...promiseSummary(p, c.status === 'True'),
      ...(c.status === 'True' ? { lastAvailableTime: now() } : {}),
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

  /**
   * Names the upstream fields the Promise uses that have no effect here: condition
   * UnsupportedFields=True and a Warning Event, never a silent drop. Cleared once they are gone.
   */
  async function reportUnsupported(p: KratixPromise) {
    const fields = unsupportedPromiseFields(p);
    const prev = findCondition(p.status, UNSUPPORTED_CONDITION);
    if (!fields.length) {
      if (prev?.status === 'True') {
        const conditions = setCondition(
          p.status?.conditions as Condition[] | undefined,
          {
            type: UNSUPPORTED_CONDITION,
            status: 'False',
            reason: 'AllFieldsSupported',
            message: 'No unsupported fields',
          },
          now(),
        );
        await patchPromiseStatus(kube, p.metadata.name, { conditions });
        p.status = { ...(p.status ?? {}), conditions };
      }
      return;
    }
    const message = unsupportedMessage(fields);
    if (prev?.status === 'True' && prev.message === message) return;
    const conditions = setCondition(
      p.status?.conditions as Condition[] | undefined,
      { type: UNSUPPORTED_CONDITION, status: 'True', reason: UNSUPPORTED_REASON, message },
      now(),
    );
    await patchPromiseStatus(kube, p.metadata.name, { conditions });
    // Later status writes of this install start from `p`: keep the condition in them.
    p.status = { ...(p.status ?? {}), conditions };
    await recordEvent(kube, target(p), 'Warning', UNSUPPORTED_CONDITION, message);
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
    await reportUnsupported(p);

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
      // spec.requiredPromises: the API is installed, but the pipelines wait until they are met.
      const unmetRequirements = await checkRequirements(kube, input.name, input.uid);
      return { gone: false, intervalMs, ...(unmetRequirements ? { unmetRequirements } : {}) };
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

  return { installPromise };
}
