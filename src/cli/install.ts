import { PLATFORM_NAMESPACE } from '../core/constants.js';
import { Kube } from '../kube/client.js';
import { applyManifestFile, CONTROLLER_RBAC_FILE, installPlatform } from '../kube/install.js';
import { connectTemporalClient, type TemporalConnectionConfig } from '../temporal/connection.js';
import { ensureSearchAttributes } from '../temporal/search-attributes.js';

export interface InstallOptions {
  kubeconfig?: string;
  temporal: TemporalConnectionConfig;
  /** Apply deploy/rbac/controller.yaml (default true). */
  rbac?: boolean;
}

/**
 * `kratix-temporal install`: everything a cluster and a Temporal namespace need before the
 * controller and workers run there with least privilege. Idempotent. Returns what it did.
 */
export async function install(o: InstallOptions): Promise<string[]> {
  if (!o.kubeconfig) throw new Error('set --kubeconfig or KUBECONFIG');
  const done: string[] = [];
  const kube = Kube.fromFile(o.kubeconfig);
  try {
    await installPlatform(kube);
    done.push(
      `namespace ${PLATFORM_NAMESPACE} and platform CRDs (promises, destinations, gitstatestores, bucketstatestores): installed`,
    );
    if (o.rbac !== false) {
      await applyManifestFile(kube, CONTROLLER_RBAC_FILE);
      done.push(
        `controller identity: ServiceAccount ${PLATFORM_NAMESPACE}/kratix-temporal, ClusterRole/Binding kratix-temporal-controller`,
      );
    }
  } finally {
    kube.close();
  }
  const connection = await connectTemporalClient(o.temporal);
  const namespace = o.temporal.namespace;
  try {
    const added = await ensureSearchAttributes(connection, namespace);
    done.push(
      added.length
        ? `search attributes added in Temporal namespace ${namespace}: ${added.join(', ')} ` +
            `(Temporal's services cache them: allow a minute before the first Resource)`
        : `search attributes already present in Temporal namespace ${namespace}`,
    );
  } finally {
    await connection.close();
  }
  return done;
}
