import { execFileSync } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { testKubeConfig } from './cluster.js';
import { createBareRepo } from './git-server.js';
import { condition, waitUntil } from './promises.js';

const coords = (plural: string) => ({ group: 'platform.kratix.io', version: 'v1alpha1', plural });
const custom = () => testKubeConfig().makeApiClient(k8s.CustomObjectsApi);

export async function createGitStateStore(name: string, spec: Record<string, unknown>): Promise<void> {
  await custom().createClusterCustomObject({
    ...coords('gitstatestores'),
    body: { apiVersion: 'platform.kratix.io/v1alpha1', kind: 'GitStateStore', metadata: { name }, spec },
  });
}

export async function createBucketStateStore(name: string, spec: Record<string, unknown>): Promise<void> {
  await custom().createClusterCustomObject({
    ...coords('bucketstatestores'),
    body: { apiVersion: 'platform.kratix.io/v1alpha1', kind: 'BucketStateStore', metadata: { name }, spec },
  });
}

export async function createDestination(
  name: string,
  labels: Record<string, string>,
  store: string,
  p?: string,
  storeKind: 'GitStateStore' | 'BucketStateStore' = 'GitStateStore',
): Promise<void> {
  await custom().createClusterCustomObject({
    ...coords('destinations'),
    body: {
      apiVersion: 'platform.kratix.io/v1alpha1',
      kind: 'Destination',
      metadata: { name, labels },
      // Strict: a test's Destination never receives other tests' unselective output.
      spec: {
        stateStoreRef: { kind: storeKind, name: store },
        strictMatchLabels: true,
        ...(p ? { path: p } : {}),
      },
    },
  });
}

export async function getClusterObject(
  plural: string,
  name: string,
): Promise<{ status?: Record<string, unknown> }> {
  return (await custom().getClusterCustomObject({ ...coords(plural), name })) as {
    status?: Record<string, unknown>;
  };
}

/** A fresh checkout of a bare repository's branch, to look at what landed. */
export function checkout(bareRepo: string, branch = 'main'): string {
  const dir = mkdtempSync(path.join(process.env.KRATIX_TEST_DIR ?? '/tmp', 'checkout-'));
  execFileSync('git', ['clone', '-q', '--branch', branch, `file://${bareRepo}`, dir], { stdio: 'ignore' });
  return dir;
}

export function filesUnder(root: string, dir: string): string[] {
  const full = path.join(root, dir);
  if (!existsSync(full)) return [];
  return execFileSync('find', ['.', '-type', 'f'], { cwd: full, encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((f) => f.replace(/^\.\//, ''))
    .sort();
}

export function gitLog(bareRepo: string, branch = 'main'): string[] {
  return execFileSync('git', ['-C', bareRepo, 'log', '--format=%s', branch], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
}

/** A state store + Destination (label dest=<label>) that only a Promise selecting it receives. */
export async function privateDestination(label: string): Promise<string> {
  const root = mkdtempSync(path.join(process.env.KRATIX_TEST_DIR ?? '/tmp', 'dest-'));
  const bare = createBareRepo(root, 'state.git');
  await createGitStateStore(`store-${label}`, { url: `file://${bare}` });
  await createDestination(`dest-${label}`, { dest: label }, `store-${label}`);
  return bare;
}

/** A Secret with these keys in kratix-platform-system, where state stores look for theirs. */
export async function createPlatformSecret(name: string, stringData: Record<string, string>): Promise<void> {
  await testKubeConfig()
    .makeApiClient(k8s.CoreV1Api)
    .createNamespacedSecret({
      namespace: 'kratix-platform-system',
      body: { metadata: { name }, stringData },
    });
}

/** Waits until GitStateStore `name` reports Ready=`status`; returns that condition. */
export function gitStoreReady(name: string, status: 'True' | 'False') {
  return waitUntil(`store ${name} Ready=${status}`, async () => {
    const c = condition(await getClusterObject('gitstatestores', name), 'Ready');
    return c?.status === status ? c : undefined;
  });
}
