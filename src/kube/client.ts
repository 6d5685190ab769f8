import * as k8s from '@kubernetes/client-node';

/** API clients built once per process from one KubeConfig. */
export class Kube {
  readonly core: k8s.CoreV1Api;
  readonly rbac: k8s.RbacAuthorizationV1Api;
  readonly custom: k8s.CustomObjectsApi;
  readonly apiext: k8s.ApiextensionsV1Api;
  readonly objects: k8s.KubernetesObjectApi;

  constructor(readonly kc: k8s.KubeConfig) {
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    this.custom = kc.makeApiClient(k8s.CustomObjectsApi);
    this.apiext = kc.makeApiClient(k8s.ApiextensionsV1Api);
    this.objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  }

  static fromFile(path?: string): Kube {
    const kc = new k8s.KubeConfig();
    if (path) kc.loadFromFile(path);
    else kc.loadFromDefault();
    return new Kube(kc);
  }
}

export const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
export const applyPatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);

export function statusCode(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e?.code === 'number') return e.code;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  return undefined;
}

export const isNotFound = (err: unknown) => statusCode(err) === 404;
export const isConflict = (err: unknown) => statusCode(err) === 409;

/** Short, single-line description of an API error (the body is often a JSON Status string). */
export function describeApiError(err: unknown): string {
  const e = err as { body?: unknown; message?: string };
  if (typeof e?.body === 'string') {
    try {
      const status = JSON.parse(e.body) as { message?: string };
      if (status.message) return status.message;
    } catch {
      /* not JSON */
    }
  }
  return (e?.message ?? String(err)).split('\n')[0]!;
}
