import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { KRATIX_GROUP, KRATIX_VERSION } from '../core/constants.js';
import { isConflict, type Kube } from '../kube/client.js';

const coords = (plural: string) => ({ group: KRATIX_GROUP, version: KRATIX_VERSION, plural });

async function createIfMissing(kube: Kube, plural: string, body: object): Promise<void> {
  try {
    await kube.custom.createClusterCustomObject({ ...coords(plural), body });
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
}

/**
 * For `dev` and the tests: a bare git repository on disk, GitStateStore `default` pointing at it
 * (file://) and Destination `worker-1` (label environment=dev), so output lands with no set-up.
 */
export async function ensureDefaultStateStore(kube: Kube, dir: string): Promise<{ repo: string }> {
  const repo = path.resolve(dir, 'state-store.git');
  if (!existsSync(repo)) execFileSync('git', ['init', '-q', '--bare', '--initial-branch=main', repo]);
  await createIfMissing(kube, 'gitstatestores', {
    apiVersion: `${KRATIX_GROUP}/${KRATIX_VERSION}`,
    kind: 'GitStateStore',
    metadata: { name: 'default' },
    spec: { url: `file://${repo}`, branch: 'main' },
  });
  await createIfMissing(kube, 'destinations', {
    apiVersion: `${KRATIX_GROUP}/${KRATIX_VERSION}`,
    kind: 'Destination',
    metadata: { name: 'worker-1', labels: { environment: 'dev' } },
    spec: { stateStoreRef: { kind: 'GitStateStore', name: 'default' }, path: 'worker-1' },
  });
  return { repo };
}
