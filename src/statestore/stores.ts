import { KRATIX_GROUP, KRATIX_VERSION, PLATFORM_NAMESPACE } from '../core/constants.js';
import type { DestinationInfo } from '../core/destinations.js';
import type { Condition, KubeObject } from '../core/types.js';
import { isNotFound, type Kube } from '../kube/client.js';
import type { BucketLocation } from './bucket.js';
import { DEFAULT_GIT_AUTHOR, type GitCredentials, type GitRepo } from './git.js';

export type StateStoreKind = 'GitStateStore' | 'BucketStateStore';
export const STATE_STORE_PLURALS: Record<StateStoreKind, 'gitstatestores' | 'bucketstatestores'> = {
  GitStateStore: 'gitstatestores',
  BucketStateStore: 'bucketstatestores',
};

export interface DestinationObject extends KubeObject {
  spec?: { path?: string; strictMatchLabels?: boolean; stateStoreRef?: { kind?: string; name?: string } };
}

interface SecretRef {
  name?: string;
  namespace?: string;
}

export interface GitStateStoreObject extends KubeObject {
  spec?: {
    url?: string;
    branch?: string;
    path?: string;
    secretRef?: SecretRef;
    /** basicAuth | ssh (githubApp is accepted and reported as unsupported); unset: from the Secret's keys. */
    authMethod?: string;
    gitAuthor?: { name?: string; email?: string };
  };
}

export interface BucketStateStoreObject extends KubeObject {
  spec?: {
    endpoint?: string;
    bucketName?: string;
    path?: string;
    secretRef?: SecretRef;
    /** accessKey (default) | IAM */
    authMethod?: string;
    insecure?: boolean;
    useDualStack?: boolean;
  };
}

export type StateStoreObject = GitStateStoreObject | BucketStateStoreObject;

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

export async function readStateStore(
  kube: Kube,
  kind: StateStoreKind,
  name: string,
): Promise<StateStoreObject | undefined> {
  const cached = kube.reads?.get<StateStoreObject>(STATE_STORE_PLURALS[kind], name);
  if (cached && cached !== 'unknown') return cached;
  try {
    return (await kube.custom.getClusterCustomObject({
      ...coords(STATE_STORE_PLURALS[kind]),
      name,
    })) as StateStoreObject;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** A Secret's data as text; StateStoreError naming it when it does not exist. */
async function readSecret(
  kube: Kube,
  what: string,
  ref: SecretRef & { name: string },
): Promise<{ namespace: string; data: Record<string, string> }> {
  const namespace = ref.namespace || PLATFORM_NAMESPACE;
  try {
    const secret = await kube.core.readNamespacedSecret({ name: ref.name, namespace });
    const data = Object.fromEntries(
      Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
    );
    return { namespace, data };
  } catch (err) {
    if (isNotFound(err)) throw new StateStoreError(`${what}: Secret ${namespace}/${ref.name} not found`);
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
  const authMethod = store.spec?.authMethod;
  if (authMethod === 'githubApp') {
    throw new StateStoreError(
      `GitStateStore ${name}: authMethod githubApp is not supported yet (use basicAuth with a token, or ssh)`,
    );
  }
  if (authMethod && authMethod !== 'basicAuth' && authMethod !== 'ssh') {
    throw new StateStoreError(
      `GitStateStore ${name}: unknown authMethod "${authMethod}" (use basicAuth or ssh)`,
    );
  }
  if (authMethod === 'ssh' && !isSshUrl(url)) {
    throw new StateStoreError(
      `GitStateStore ${name}: authMethod ssh needs an ssh url (ssh:// or git@host:path), not "${url}"`,
    );
  }
  if (authMethod === 'basicAuth' && isSshUrl(url)) {
    throw new StateStoreError(
      `GitStateStore ${name}: authMethod basicAuth needs an https:// url, not the ssh url "${url}" (set authMethod: ssh)`,
    );
  }
  const author = store.spec?.gitAuthor;
  const repo: GitRepo = {
    url,
    branch: store.spec?.branch || 'main',
    author: {
      name: author?.name || DEFAULT_GIT_AUTHOR.name,
      email: author?.email || DEFAULT_GIT_AUTHOR.email,
    },
  };
  const ref = store.spec?.secretRef;
  if (ref?.name) {
    const { namespace, data } = await readSecret(kube, `GitStateStore ${name}`, { ...ref, name: ref.name });
    const credentials: GitCredentials = {
      username: data.username,
      password: data.password ?? data.token,
      sshPrivateKey: data.sshPrivateKey,
      knownHosts: data.knownHosts,
    };
    // With authMethod set, only that method's keys are used (as upstream); unset, the keys decide.
    if (authMethod === 'basicAuth') {
      delete credentials.sshPrivateKey;
      if (!credentials.username || !credentials.password) {
        throw new StateStoreError(
          `GitStateStore ${name}: authMethod basicAuth needs keys username and password (a token) in Secret ${namespace}/${ref.name}`,
        );
      }
    }
    if (authMethod === 'ssh') {
      delete credentials.username;
      delete credentials.password;
      if (!credentials.sshPrivateKey) {
        throw new StateStoreError(
          `GitStateStore ${name}: authMethod ssh needs keys sshPrivateKey and knownHosts in Secret ${namespace}/${ref.name}`,
        );
      }
    }
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

/** The bucket and credentials of a BucketStateStore, resolving its Secret (authMethod accessKey). */
export async function bucketLocationFor(kube: Kube, store: BucketStateStoreObject): Promise<BucketLocation> {
  const name = store.metadata.name;
  const spec = store.spec ?? {};
  if (!spec.endpoint) throw new StateStoreError(`BucketStateStore ${name} has no spec.endpoint`);
  if (!spec.bucketName) throw new StateStoreError(`BucketStateStore ${name} has no spec.bucketName`);
  if (!/^(https?:\/\/)?[\w.-]+(:\d+)?\/?$/.test(spec.endpoint)) {
    throw new StateStoreError(
      `BucketStateStore ${name}: endpoint "${spec.endpoint}" is not host[:port] (or http(s)://host[:port])`,
    );
  }
  const loc: BucketLocation = {
    endpoint: spec.endpoint.replace(/\/$/, ''),
    bucketName: spec.bucketName,
    insecure: spec.insecure === true,
  };
  const method = spec.authMethod || 'accessKey';
  if (method === 'IAM') return loc; // the SDK's default chain: environment, web identity, instance role
  if (method !== 'accessKey') {
    throw new StateStoreError(
      `BucketStateStore ${name}: unknown authMethod "${method}" (use accessKey or IAM)`,
    );
  }
  const ref = spec.secretRef;
  if (!ref?.name) {
    throw new StateStoreError(
      `BucketStateStore ${name}: authMethod accessKey needs spec.secretRef to a Secret with accessKeyID and secretAccessKey`,
    );
  }
  const { namespace, data } = await readSecret(kube, `BucketStateStore ${name}`, { ...ref, name: ref.name });
  const missing = ['accessKeyID', 'secretAccessKey'].filter((k) => !data[k]);
  if (missing.length) {
    throw new StateStoreError(
      `BucketStateStore ${name}: Secret ${namespace}/${ref.name} is missing key${missing.length > 1 ? 's' : ''} ${missing.join(' and ')}`,
    );
  }
  loc.credentials = { accessKeyId: data.accessKeyID!, secretAccessKey: data.secretAccessKey! };
  return loc;
}

/** The kind of store a Destination points at; StateStoreError for a kind this project does not know. */
export function stateStoreRefOf(d: DestinationObject): { kind: StateStoreKind; name: string } {
  const ref = d.spec?.stateStoreRef;
  if (!ref?.name) throw new StateStoreError(`Destination ${d.metadata.name} has no spec.stateStoreRef`);
  const kind = ref.kind || 'GitStateStore';
  if (kind !== 'GitStateStore' && kind !== 'BucketStateStore') {
    throw new StateStoreError(
      `Destination ${d.metadata.name}: state store kind ${kind} is not supported (use GitStateStore or BucketStateStore)`,
    );
  }
  return { kind, name: ref.name };
}

/** The store a Destination points at; throws StateStoreError when it does not exist. */
export async function storeForDestination(
  kube: Kube,
  d: DestinationObject,
): Promise<{ kind: StateStoreKind; store: StateStoreObject }> {
  const { kind, name } = stateStoreRefOf(d);
  const store = await readStateStore(kube, kind, name);
  if (!store) throw new StateStoreError(`Destination ${d.metadata.name}: ${kind} ${name} not found`);
  return { kind, store };
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
