import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../package-root.js';
import { parseAllDocuments } from 'yaml';
import { PLATFORM_NAMESPACE } from '../core/constants.js';
import type { KubeObject } from '../core/types.js';
import { isNotFound, type Kube } from './client.js';
import { applyCrd, waitCrdEstablished } from './crds.js';
import { apply, ensureNamespace } from './identity.js';
import { CONTROLLER_BINDING, resourceAccessRbac } from '../core/controller-rbac.js';

export const CRD_DIR = path.join(PACKAGE_ROOT, 'deploy', 'crds');
export const CONTROLLER_RBAC_FILE = path.join(PACKAGE_ROOT, 'deploy', 'rbac', 'controller.yaml');

/** The Kubernetes objects of a multi-document YAML file (empty documents skipped). */
function readManifests(file: string): KubeObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as KubeObject | null)
    .filter((d): d is KubeObject => !!d?.kind);
}

/** Applies every document of a manifest file with server-side apply, in order. */
export async function applyManifestFile(kube: Kube, file: string): Promise<void> {
  for (const d of readManifests(file)) await apply(kube, d as never);
}

/**
 * Lets the controller's identity (the subjects bound by deploy/rbac/controller.yaml) manage the
 * Resources of one Promise. Without that binding the controller runs with an identity of its own
 * choosing (e.g. cluster-admin in `dev`) and nothing is granted.
 */
export async function grantResourceAccess(
  kube: Kube,
  promise: string,
  target: { group: string; plural: string },
): Promise<void> {
  const binding = await kube.rbac
    .readClusterRoleBinding({ name: CONTROLLER_BINDING })
    .catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
  const subjects = binding?.subjects;
  if (!subjects?.length) return;
  const rbac = resourceAccessRbac(promise, target, subjects);
  await apply(kube, rbac.clusterRole as never);
  await apply(kube, rbac.clusterRoleBinding as never);
}

/**
 * Installs (or updates) the platform CRDs from deploy/crds and the platform namespace, then waits
 * until every CRD is Established: what `dev`, the tests and `kratix-temporal install` share.
 */
export async function installPlatform(kube: Kube, dir = CRD_DIR): Promise<void> {
  await ensureNamespace(kube, PLATFORM_NAMESPACE);
  const crds = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => readManifests(path.join(dir, f)))
    .filter((d) => d.kind === 'CustomResourceDefinition');
  for (const crd of crds) await applyCrd(kube, crd);
  for (const crd of crds) await waitCrdEstablished(kube, crd.metadata.name);
}
