import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { createTestNamespace } from '../support/cluster.js';
import { createBareRepo, GitHttpServer } from '../support/git-server.js';
import { GitSshServer } from '../support/ssh-server.js';
import {
  applyPromise,
  eventsFor,
  promiseFor,
  resources,
  shPipeline,
  uniqueApi,
  waitForPromiseAvailable,
  waitUntil,
} from '../support/promises.js';
import {
  checkout,
  createDestination,
  createGitStateStore,
  createPlatformSecret,
  filesUnder,
  gitStoreReady,
} from '../support/state-store.js';

const writer = shPipeline('render', [
  `printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: authored\\n' > /kratix/output/cm.yaml`,
]);

/** A Promise writing one file to the Destination labelled auth=<id>; returns where it landed. */
async function writeThrough(id: string): Promise<string> {
  const api = uniqueApi('authored');
  await applyPromise(
    promiseFor(api, {
      destinationSelectors: [{ matchLabels: { gitauth: id } }],
      workflows: { resource: { configure: [writer] } },
    }),
  );
  await waitForPromiseAvailable(api.promise);
  const ns = await createTestNamespace('gitauth');
  const rs = resources(api, ns);
  await rs.create('r', {});
  await rs.waitFor('r', 'True');
  return `dest-${id}/resources/${ns}/${api.promise}/r/render`;
}

const authorOf = (bare: string) =>
  execFileSync('git', ['-C', bare, 'log', '-1', '--format=%an <%ae> / %cn <%ce>', 'main'], {
    encoding: 'utf8',
  }).trim();

describe('GitStateStore authMethod and gitAuthor (upstream fields)', () => {
  let root: string;
  let http: GitHttpServer;
  let ssh: GitSshServer;

  beforeAll(async () => {
    root = mkdtempSync(path.join(process.env.KRATIX_TEST_DIR!, 'gitauth-'));
    http = new GitHttpServer(root);
    http.users.set('kratix', 'token-1');
    ssh = new GitSshServer(path.join(root, 'sshd'));
    await Promise.all([http.start(), ssh.start()]);
  });
  afterAll(async () => {
    http.stop();
    await ssh.stop();
  });

  it('authMethod ssh uses the key even when the Secret also holds a password; commits carry gitAuthor', async () => {
    const id = uniqueApi('x').group.split('.')[0]!;
    const bare = createBareRepo(root, `ssh-${id}.git`);
    await createPlatformSecret(`ssh-${id}`, {
      sshPrivateKey: ssh.clientKey,
      knownHosts: ssh.knownHosts,
      username: 'kratix',
      password: 'unused',
    });
    await createGitStateStore(`ssh-${id}`, {
      url: ssh.url(bare),
      branch: 'main',
      authMethod: 'ssh',
      gitAuthor: { name: 'Platform Team', email: 'platform@example.com' },
      secretRef: { name: `ssh-${id}`, namespace: 'kratix-platform-system' },
    });
    await createDestination(`dest-${id}`, { gitauth: id }, `ssh-${id}`);
    expect((await gitStoreReady(`ssh-${id}`, 'True')).reason).toBe('RepositoryReachable');
    const dir = await writeThrough(id);
    expect(filesUnder(checkout(bare), dir)).toEqual(['cm.yaml']);
    expect(authorOf(bare)).toBe(
      'Platform Team <platform@example.com> / Platform Team <platform@example.com>',
    );
  });

  it('authMethod basicAuth over https-style smart HTTP, gitAuthor name only', async () => {
    const id = uniqueApi('x').group.split('.')[0]!;
    const bare = createBareRepo(root, `basic-${id}.git`);
    await createPlatformSecret(`basic-${id}`, { username: 'kratix', password: 'token-1' });
    await createGitStateStore(`basic-${id}`, {
      url: `${http.url}/basic-${id}.git`,
      authMethod: 'basicAuth',
      gitAuthor: { name: 'kratix' },
      secretRef: { name: `basic-${id}` },
    });
    await createDestination(`dest-${id}`, { gitauth: id }, `basic-${id}`);
    await gitStoreReady(`basic-${id}`, 'True');
    const dir = await writeThrough(id);
    expect(filesUnder(checkout(bare), dir)).toEqual(['cm.yaml']);
    expect(authorOf(bare)).toBe('kratix <kratix-temporal@localhost> / kratix <kratix-temporal@localhost>');
  });

  it('reports an authMethod that does not fit the url or the Secret, and githubApp, on the store with an Event', async () => {
    const id = uniqueApi('x').group.split('.')[0]!;
    await createPlatformSecret(`keyonly-${id}`, { sshPrivateKey: ssh.clientKey, knownHosts: ssh.knownHosts });
    await createPlatformSecret(`app-${id}`, { appID: '1', installationID: '2', privateKey: 'x' });
    const cases: [string, Record<string, unknown>, string][] = [
      [
        `sshhttps-${id}`,
        { url: `${http.url}/x.git`, authMethod: 'ssh', secretRef: { name: `keyonly-${id}` } },
        `GitStateStore sshhttps-${id}: authMethod ssh needs an ssh url (ssh:// or git@host:path), not "${http.url}/x.git"`,
      ],
      [
        `basicnokeys-${id}`,
        { url: `${http.url}/x.git`, authMethod: 'basicAuth', secretRef: { name: `keyonly-${id}` } },
        `GitStateStore basicnokeys-${id}: authMethod basicAuth needs keys username and password (a token) in Secret kratix-platform-system/keyonly-${id}`,
      ],
      [
        `app-${id}`,
        { url: `${http.url}/x.git`, authMethod: 'githubApp', secretRef: { name: `app-${id}` } },
        `GitStateStore app-${id}: authMethod githubApp is not supported yet (use basicAuth with a token, or ssh)`,
      ],
    ];
    for (const [name, spec] of cases) await createGitStateStore(name, spec);
    for (const [name, , message] of cases) {
      const c = await gitStoreReady(name, 'False');
      expect(c).toMatchObject({ reason: 'InvalidConfiguration', message });
      await waitUntil(`${name} event`, async () =>
        (await eventsFor('default', name)).some(
          (e) => e.type === 'Warning' && e.reason === 'InvalidConfiguration' && e.message === message,
        ),
      );
    }
  });
});
