import type { Container } from '../core/types.js';
import { isNotFound, type Kube } from './client.js';

/** A missing Secret/ConfigMap or key: the run fails with this message (it never contains values). */
export class EnvResolutionError extends Error {
  override name = 'EnvResolutionError';
}

/**
 * Resolves a container's `env` and `envFrom` in the pipeline namespace, Kubernetes-style: envFrom
 * first, then env entries overriding. Values go to the process environment only.
 */
export async function resolveContainerEnv(
  kube: Kube | undefined,
  namespace: string,
  c: Container,
): Promise<Record<string, string>> {
  // Without a cluster (`kratix-temporal test`) every Secret and ConfigMap is missing: literal values
  // work, a required reference fails the run naming it.
  if (!kube)
    return resolveEnv(namespace, c, { secret: async () => undefined, configMap: async () => undefined });
  const secrets = new Map<string, Record<string, string> | undefined>();
  const configMaps = new Map<string, Record<string, string> | undefined>();
  const secret = async (name: string) => {
    if (!secrets.has(name)) {
      try {
        const s = await kube.core.readNamespacedSecret({ name, namespace });
        const decoded: Record<string, string> = {};
        for (const [k, v] of Object.entries(s.data ?? {}))
          decoded[k] = Buffer.from(v, 'base64').toString('utf8');
        for (const [k, v] of Object.entries(s.stringData ?? {})) decoded[k] = v;
        secrets.set(name, decoded);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        secrets.set(name, undefined);
      }
    }
    return secrets.get(name);
  };
  const configMap = async (name: string) => {
    if (!configMaps.has(name)) {
      try {
        configMaps.set(name, (await kube.core.readNamespacedConfigMap({ name, namespace })).data ?? {});
      } catch (err) {
        if (!isNotFound(err)) throw err;
        configMaps.set(name, undefined);
      }
    }
    return configMaps.get(name);
  };

  return resolveEnv(namespace, c, { secret, configMap });
}

type Lookup = (name: string) => Promise<Record<string, string> | undefined>;

async function resolveEnv(
  namespace: string,
  c: Container,
  { secret, configMap }: { secret: Lookup; configMap: Lookup },
): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.secretRef) {
      const data = await secret(from.secretRef.name);
      if (!data && !from.secretRef.optional) {
        throw new EnvResolutionError(
          `container "${c.name}": envFrom Secret "${from.secretRef.name}" not found in namespace ${namespace}`,
        );
      }
      for (const [k, v] of Object.entries(data ?? {})) env[prefix + k] = v;
    }
    if (from.configMapRef) {
      const data = await configMap(from.configMapRef.name);
      if (!data && !from.configMapRef.optional) {
        throw new EnvResolutionError(
          `container "${c.name}": envFrom ConfigMap "${from.configMapRef.name}" not found in namespace ${namespace}`,
        );
      }
      for (const [k, v] of Object.entries(data ?? {})) env[prefix + k] = v;
    }
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      const value = (await secret(ref.name))?.[ref.key];
      if (value === undefined && !ref.optional) {
        throw new EnvResolutionError(
          `container "${c.name}": env ${e.name} refers to key "${ref.key}" of Secret "${ref.name}", which does not exist in namespace ${namespace}`,
        );
      }
      if (value !== undefined) env[e.name] = value;
    } else if (e.valueFrom?.configMapKeyRef) {
      const ref = e.valueFrom.configMapKeyRef;
      const value = (await configMap(ref.name))?.[ref.key];
      if (value === undefined && !ref.optional) {
        throw new EnvResolutionError(
          `container "${c.name}": env ${e.name} refers to key "${ref.key}" of ConfigMap "${ref.name}", which does not exist in namespace ${namespace}`,
        );
      }
      if (value !== undefined) env[e.name] = value;
    } else env[e.name] = '';
  }
  return env;
}
