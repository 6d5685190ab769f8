import * as k8s from '@kubernetes/client-node';
import type { Pipeline } from '../../src/core/types.js';
import { createTestNamespace, testKubeConfig } from '../support/cluster.js';
import {
  applyPromise,
  promiseFor,
  resources,
  uniqueApi,
  waitForPromiseAvailable,
} from '../support/promises.js';
export { privateDestination } from '../support/state-store.js';

export const core = () => testKubeConfig().makeApiClient(k8s.CoreV1Api);

/** The pipeline Pods of one Promise in a namespace, oldest first. */
export async function pipelinePods(namespace: string, promise: string, extra = ''): Promise<k8s.V1Pod[]> {
  const list = await core().listNamespacedPod({
    namespace,
    labelSelector: `kratix.io/promise-name=${promise}${extra ? `,${extra}` : ''}`,
  });
  return list.items.sort(
    (a, b) =>
      new Date(a.metadata!.creationTimestamp!).getTime() - new Date(b.metadata!.creationTimestamp!).getTime(),
  );
}

/** A Promise with these resource configure pipelines, Available, and a Resource `r` of it. */
export async function resourceWith(
  base: string,
  configure: Pipeline[],
  extra: Partial<Pipeline['spec']> = {},
) {
  const api = uniqueApi(base);
  const ns = await createTestNamespace(base);
  await applyPromise(
    promiseFor(api, {
      workflows: { resource: { configure: configure.map((p) => ({ ...p, spec: { ...p.spec, ...extra } })) } },
    }),
  );
  await waitForPromiseAvailable(api.promise);
  const rs = resources(api, ns);
  await rs.create('r', {});
  return { api, ns, rs };
}
