import * as k8s from '@kubernetes/client-node';
import type { Condition, KratixPromise, KubeObject } from '../../src/core/types.js';
import type { TestApi } from './sample-promise.js';
import { testKubeConfig } from './cluster.js';

export { promiseFor, shPipeline, uniqueApi, type TestApi } from './sample-promise.js';

const custom = () => testKubeConfig().makeApiClient(k8s.CustomObjectsApi);
const promiseCoords = { group: 'platform.kratix.io', version: 'v1alpha1', plural: 'promises' };

export async function applyPromise(p: KratixPromise): Promise<void> {
  await custom().createClusterCustomObject({ ...promiseCoords, body: p });
}

export async function getPromise(name: string): Promise<KratixPromise> {
  return (await custom().getClusterCustomObject({ ...promiseCoords, name })) as KratixPromise;
}

export async function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 120_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** True once `get` answers 404. */
export async function isGone(get: () => Promise<unknown>): Promise<boolean> {
  try {
    await get();
    return false;
  } catch (err) {
    return (err as { code?: number }).code === 404;
  }
}

export function condition(obj: { status?: Record<string, unknown> }, type: string): Condition | undefined {
  return (obj.status?.conditions as Condition[] | undefined)?.find((c) => c.type === type);
}

export async function waitForPromiseAvailable(name: string): Promise<KratixPromise> {
  return waitUntil(`Promise ${name} Available`, async () => {
    const p = await getPromise(name);
    return condition(p, 'Available')?.status === 'True' ? p : undefined;
  });
}

export function resources(api: TestApi, namespace: string) {
  const coords = { group: api.group, version: api.version, plural: api.plural, namespace };
  return {
    create: (name: string, spec: Record<string, unknown>, labels?: Record<string, string>) =>
      custom().createNamespacedCustomObject({
        ...coords,
        body: { apiVersion: `${api.group}/${api.version}`, kind: api.kind, metadata: { name, labels }, spec },
      }) as Promise<KubeObject>,
    get: (name: string) => custom().getNamespacedCustomObject({ ...coords, name }) as Promise<KubeObject>,
    patch: (name: string, body: unknown) =>
      custom().patchNamespacedCustomObject(
        { ...coords, name, body },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      ) as Promise<KubeObject>,
    delete: (name: string) => custom().deleteNamespacedCustomObject({ ...coords, name }),
    /** Waits until the object is gone (its finalizer released). */
    waitGone: (name: string, timeoutMs?: number) =>
      waitUntil(
        `${api.kind} ${namespace}/${name} gone`,
        () => isGone(() => custom().getNamespacedCustomObject({ ...coords, name })),
        timeoutMs,
      ),
    /** Waits for PipelineCompleted with the given status (and, for True, the current generation). */
    // Generous: the durability test kills the shared worker, which can delay other tests' runs ~40 s.
    waitFor: (name: string, status: 'True' | 'False', reason?: string, timeoutMs = 120_000) =>
      withLastState(
        () => custom().getNamespacedCustomObject({ ...coords, name }) as Promise<KubeObject>,
        waitUntil(
          `${api.kind} ${namespace}/${name} PipelineCompleted=${status}${reason ? `/${reason}` : ''}`,
          async () => {
            const o = (await custom().getNamespacedCustomObject({ ...coords, name })) as KubeObject;
            const c = condition(o, 'PipelineCompleted');
            if (c?.status !== status || (reason && c.reason !== reason)) return undefined;
            if (status === 'True' && (c.observedGeneration ?? 0) < (o.metadata.generation ?? 0))
              return undefined;
            return o;
          },
          timeoutMs,
        ),
      ),
  };
}

/** On timeout, says what the object looked like: the difference between a flake and a bug. */
async function withLastState<T>(get: () => Promise<KubeObject>, wait: Promise<T>): Promise<T> {
  try {
    return await wait;
  } catch (err) {
    const o = await get().catch((e: unknown) => ({ error: String(e) }) as unknown as KubeObject);
    const seen = {
      metadata: {
        labels: o.metadata?.labels,
        finalizers: o.metadata?.finalizers,
        generation: o.metadata?.generation,
      },
      status: o.status,
    };
    throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(seen)}`);
  }
}

export async function eventsFor(namespace: string, name: string): Promise<k8s.CoreV1Event[]> {
  const core = testKubeConfig().makeApiClient(k8s.CoreV1Api);
  const list = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
  return list.items;
}
