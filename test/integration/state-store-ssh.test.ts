import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { createTestNamespace } from '../support/cluster.js';
import { createBareRepo } from '../support/git-server.js';
import { GitSshServer } from '../support/ssh-server.js';
import {
  applyPromise,
  promiseFor,
  resources,
  shPipeline,
  uniqueApi,
  waitForPromiseAvailable,
} from '../support/promises.js';
import {
  checkout,
  createDestination,
  createGitStateStore,
  createPlatformSecret,
  filesUnder,
  getClusterObject,
  gitStoreReady,
} from '../support/state-store.js';

const writer = shPipeline('render', [
  `printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: over-ssh\\n' > /kratix/output/cm.yaml`,
]);

describe('GitOps state store over ssh', () => {
  let server: GitSshServer;
  let root: string;

  beforeAll(async () => {
    root = mkdtempSync(path.join(process.env.KRATIX_TEST_DIR!, 'ssh-'));
    server = new GitSshServer(path.join(root, 'sshd'));
    await server.start();
  });
  afterAll(() => server.stop());

  it('writes with the Secret private key once the host key matches knownHosts', async () => {
    const id = uniqueApi('x').group.split('.')[0]!;
    const bare = createBareRepo(root, `ssh-${id}.git`);
    await createPlatformSecret(`ssh-${id}`, {
      sshPrivateKey: server.clientKey,
      knownHosts: server.knownHosts,
    });
    await createGitStateStore(`ssh-${id}`, { url: server.url(bare), secretRef: { name: `ssh-${id}` } });
    await createDestination(`ssh-${id}`, { ssh: id }, `ssh-${id}`);
    expect((await gitStoreReady(`ssh-${id}`, 'True')).reason).toBe('RepositoryReachable');

    const api = uniqueApi('sshw');
    await applyPromise(
      promiseFor(api, {
        destinationSelectors: [{ matchLabels: { ssh: id } }],
        workflows: { resource: { configure: [writer] } },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('ssh');
    const rs = resources(api, ns);
    await rs.create('r', {});
    await rs.waitFor('r', 'True');
    expect(filesUnder(checkout(bare), `ssh-${id}/resources/${ns}/${api.promise}/r/render`)).toEqual([
      'cm.yaml',
    ]);
  });

  it('refuses a server whose host key is not in knownHosts, and a Secret without knownHosts', async () => {
    const id = uniqueApi('x').group.split('.')[0]!;
    const bare = createBareRepo(root, `hk-${id}.git`);
    // A known_hosts line for this address, but with another key: what an impostor would present.
    const otherKey = server.knownHosts.replace(/ssh-ed25519 \S+/, server.clientPublicKey);
    await createPlatformSecret(`hk-${id}`, { sshPrivateKey: server.clientKey, knownHosts: otherKey });
    await createGitStateStore(`hk-${id}`, { url: server.url(bare), secretRef: { name: `hk-${id}` } });
    const hostKey = await gitStoreReady(`hk-${id}`, 'False');
    expect(hostKey.reason).toBe('HostKeyVerificationFailed');
    expect(hostKey.message).toMatch(/Host key verification failed/);

    await createPlatformSecret(`nokh-${id}`, { sshPrivateKey: server.clientKey });
    await createGitStateStore(`nokh-${id}`, { url: server.url(bare), secretRef: { name: `nokh-${id}` } });
    const noKnownHosts = await gitStoreReady(`nokh-${id}`, 'False');
    expect(noKnownHosts.reason).toBe('InvalidConfiguration');
    expect(noKnownHosts.message).toBe(
      `GitStateStore nokh-${id}: Secret kratix-platform-system/nokh-${id} has sshPrivateKey but no knownHosts (the server's host keys, e.g. from ssh-keyscan)`,
    );
    // The private key never shows in status.
    for (const name of [`hk-${id}`, `nokh-${id}`]) {
      const status = JSON.stringify((await getClusterObject('gitstatestores', name)).status);
      expect(status).not.toContain('PRIVATE KEY');
    }
  });
});
