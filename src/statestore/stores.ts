import { KRATIX_GROUP, KRATIX_VERSION, PLATFORM_NAMESPACE } from '../core/constants.js';
import type { DestinationInfo } from '../core/destinations.js';
import type { Condition, KubeObject } from '../core/types.js';
import { isNotFound, type Kube } from '../kube/client.js';
import type { GitCredentials, GitRepo } from './git.js';

export interface DestinationObject extends KubeObject {
  spec?: { path?: string; strictMatchLabels?: boolean; stateStoreRef?: { kind?: string; name?: string } };
}

export interface GitStateStoreObject extends KubeObject {
  spec?: { url?: string; branch?: string; path?: string; secretRef?: { name?: string; namespace?: string } };
}

/** A state store that cannot be used; the message is safe to show (no secret values). */
export class StateStoreError extends Error {
  override name = 'StateStoreError';
}

const coords = (plural: string) => ({ group: KRATIX_GROUP, version: KRATIX_VERSION, plural });

/** Every Destination: from the worker's watch cache when it has them (`fresh` skips it). */
export async function listDestinations(kube: Kube, { fresh = false } = {}): Promise<DestinationObject[]> {
  const cached = fresh ? undefined : kube.reads?.list<DestinationObject>('destinations');
  if (cached && cached !== 'unknown') return cached;
  const list = (await kube.custom.listClusterCustomObject(coords('destinations'))) as {
    items: DestinationObject[];
  };
  return list.items;
}

export function destinationInfo(d: DestinationObject): DestinationInfo {
  return {
    name: d.metadata.name,
    labels: d.metadata.labels ?? {},
    strictMatchLabels: d.spec?.strictMatchLabels === true,
  };
}

export function destinationPath(d: DestinationObject): string {
  return d.spec?.path || d.metadata.name;
}

export async function readGitStateStore(kube: Kube, name: string): Promise<GitStateStoreObject | undefined> {
  const cached = kube.reads?.get<GitStateStoreObject>('gitstatestores', name);
  if (cached && cached !== 'unknown') return cached;
  try {
    return (await kube.custom.getClusterCustomObject({
      ...coords('gitstatestores'),
      name,
    })) as GitStateStoreObject;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

function isSshUrl(url: string): boolean {
  return url.startsWith('ssh://') || /^[\w.-]+@[\w.-]+:/.test(url);
}

/** The repository and credentials of a GitStateStore, resolving its Secret. */
export async function gitRepoFor(kube: Kube, store: GitStateStoreObject): Promise<GitRepo> {
  const name = store.metadata.name;
  const url = store.spec?.url;
  if (!url) throw new StateStoreError(`GitStateStore ${name} has no spec.url`);
  if (!/^(https?:\/\/|ssh:\/\/|file:\/\/|[\w.-]+@[\w.-]+:)/.test(url)) {
    throw new StateStoreError(
      `GitStateStore ${name}: unsupported url "${url}" (use https://, ssh://, git@host:path or file://)`,
    );
  }
  const repo: GitRepo = { url, branch: store.spec?.branch || 'main' };
  const ref = store.spec?.secretRef;
  if (ref?.name) {
    const namespace = ref.namespace || PLATFORM_NAMESPACE;
    let data: Record<string, string>;
    try {
      const secret = await kube.core.readNamespacedSecret({ name: ref.name, namespace });
      data = Object.fromEntries(
        Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
      );
    } catch (err) {
      if (isNotFound(err))
        throw new StateStoreError(`GitStateStore ${name}: Secret ${namespace}/${ref.name} not found`);
      throw err;
    }
    const credentials: GitCredentials = {
      username: data.username,
      password: data.password ?? data.token,
      sshPrivateKey: data.sshPrivateKey,
      knownHosts: data.knownHosts,
    };
    if (!credentials.password && !credentials.sshPrivateKey) {
      throw new StateStoreError(
        `GitStateStore ${name}: Secret ${namespace}/${ref.name} needs keys username + password (token), or sshPrivateKey + knownHosts`,
      );
    }
    // Host keys are never trusted on first use: a missing knownHosts would let anyone in the
    // network path impersonate the repository and receive every commit.
    if (credentials.sshPrivateKey && !credentials.knownHosts?.trim()) {
      throw new StateStoreError(
        `GitStateStore ${name}: Secret ${namespace}/${ref.name} has sshPrivateKey but no knownHosts (the server's host keys, e.g. from ssh-keyscan)`,
      );
    }
    repo.credentials = credentials;
  }
  if (isSshUrl(url) && !repo.credentials?.sshPrivateKey) {
    throw new StateStoreError(
      `GitStateStore ${name}: an ssh url needs spec.secretRef to a Secret with sshPrivateKey + knownHosts`,
    );
  }
  return repo;
}

/** The store a Destination points at, with its repository; throws StateStoreError when unusable. */
export async function storeForDestination(
  kube: Kube,
  d: DestinationObject,
): Promise<{ store: GitStateStoreObject; repo: GitRepo }> {
  const ref = d.spec?.stateStoreRef;
  if (!ref?.name) throw new StateStoreError(`Destination ${d.metadata.name} has no spec.stateStoreRef`);
  if (ref.kind && ref.kind !== 'GitStateStore') {
    throw new StateStoreError(
      `Destination ${d.metadata.name}: state store kind ${ref.kind} is not supported (use GitStateStore)`,
    );
  }
  const store = await readGitStateStore(kube, ref.name);
  if (!store)
    throw new StateStoreError(`Destination ${d.metadata.name}: GitStateStore ${ref.name} not found`);
  return { store, repo: await gitRepoFor(kube, store) };
}

export function readyCondition(
  ok: boolean,
  reason: string,
  message: string,
  prev?: Condition[],
): Condition[] {
  const old = prev?.find((c) => c.type === 'Ready');
  const status = ok ? 'True' : 'False';
  return [
    ...(prev ?? []).filter((c) => c.type !== 'Ready'),
    {
      type: 'Ready',
      status,
      reason,
      message,
      lastTransitionTime:
        old?.status === status && old.lastTransitionTime ? old.lastTransitionTime : new Date().toISOString(),
    },
  ];
}
