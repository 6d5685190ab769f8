// A pipeline's identity: its ServiceAccount and RBAC, checked against the platform's policy.
import { pipelineIdentity, withPipelineNamespace } from '../src/core/pipeline-factory.js';
import { permissionsNotAllowedMessage, pipelinePermissionDenials } from '../src/core/permissions.js';
import type { KratixPromise, ObjectRef, WorkflowAction } from '../src/core/types.js';
import { describeApiError, isNotFound, statusCode, type Kube } from '../src/kube/client.js';
import { applyPipelineIdentityOnce } from '../src/kube/identity.js';
import { readPlatformConfig } from '../src/kube/objects.js';
import { objectAccess } from './access.js';
import type { ActivityDeps } from './deps.js';
import { failPipeline } from './run-status.js';
import { findPipeline, promiseOf } from './subject.js';

/** Ensures pipeline identities: the activity below, and the first pipeline of a folded run start. */
export function identityEnsurer(deps: ActivityDeps) {
  const { kube } = deps;

  /**
   * Applies a pipeline's ServiceAccount and RBAC. `beforeFailure` runs before a problem retrying
   * cannot fix is recorded on the object (a run that folds its start status into its first
   * pipeline writes it there, so the failure lands on the run's pipeline list). `known`: the
   * Promise the caller just read (each read copies it).
   */
  async function ensureIdentity(
    input: { ref: ObjectRef; action: WorkflowAction; pipeline: string },
    beforeFailure?: () => Promise<unknown>,
    known?: KratixPromise,
  ) {
    const acc = objectAccess(kube, input.ref);
    const fail = async (detail: string) => {
      await beforeFailure?.();
      return failPipeline(kube, acc, input.action, input.pipeline, detail);
    };
    const promise = known ?? (await promiseOf(kube, input.ref));
    const pipeline = findPipeline(promise, input.ref, acc.type, input.action, input.pipeline);
    const id = pipelineIdentity(withPipelineNamespace(acc.subject(input.action), promise), pipeline);
    // The policy may have tightened since the Promise was installed.
    const denials = pipelinePermissionDenials(pipeline, (await readPlatformConfig(kube)).pipelinePermissions);
    if (denials.length)
      throw await fail(`its permissions are not allowed: ${permissionsNotAllowedMessage(denials)}`);
    // As upstream, a Promise's pipelineNamespace must exist: say so instead of retrying forever.
    const wanted = promise.spec?.workflows?.config?.pipelineNamespace;
    if (wanted && !(await namespaceExists(kube, wanted)))
      throw await fail(
        `spec.workflows.config.pipelineNamespace "${wanted}" is not an existing namespace (create it, or remove the field)`,
      );
    try {
      await applyPipelineIdentityOnce(kube, id, promise.metadata.uid);
    } catch (err) {
      // Invalid (422) or malformed (400): retrying cannot help, so fail the run and say why.
      const code = statusCode(err);
      if (code === 422 || code === 400)
        throw await fail(`the API server rejected its ServiceAccount or RBAC: ${describeApiError(err)}`);
      throw err;
    }
    return { serviceAccount: id.serviceAccount.name, namespace: id.serviceAccount.namespace };
  }

  return ensureIdentity;
}

export function identityActivities(deps: ActivityDeps) {
  const ensureIdentity = identityEnsurer(deps);
  async function ensurePipelineIdentity(input: { ref: ObjectRef; action: WorkflowAction; pipeline: string }) {
    return ensureIdentity(input);
  }
  return { ensurePipelineIdentity };
}

async function namespaceExists(kube: Kube, name: string): Promise<boolean> {
  try {
    await kube.core.readNamespace({ name });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}
