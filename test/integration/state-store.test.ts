import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { createTestNamespace, testKubeConfig } from '../support/cluster.js';
import { createBareRepo, GitHttpServer } from '../support/git-server.js';
import {
  applyPromise,
  condition,
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
  filesUnder,
  getClusterObject,
  gitLog,
} from '../support/state-store.js';

const configMap = (name: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  a: "1"\n`;

/** A pipeline writing one ConfigMap file per word of spec.files (a nested folder for "nested/x"). */
const writer = shPipeline('render', [
  `files=$(sed -n 's/^  files: //p' /kratix/input/object.yaml | head -1)
for f in $files; do mkdir -p "/kratix/output/$(dirname "$f")"; printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: %s\\n' "$(basename "$f")" > "/kratix/output/$f.yaml"; done
[ -n "$SELECT" ] && printf -- '- matchLabels:\\n    %s\\n' "$SELECT" > /kratix/metadata/destination-selectors.yaml || true`,
]);

describe('GitOps state store', () => {
  let server: GitHttpServer;
  let root: string;

  beforeAll(async () => {
    root = mkdtempSync(path.join(process.env.KRATIX_TEST_DIR!, 'git-'));
    server = new GitHttpServer(root);
    server.users.set('kratix', 'token-1');
    await server.start();
  });
  afterAll(() => server.stop());

  it('writes to the matching Destination over smart HTTP with basic auth, never to others; sticks; removes stale files', async () => {
    const id = uniqueApi('x').group.split('.')[0]!;
    const bare = createBareRepo(root, `state-${id}.git`);
    const core = testKubeConfig().makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedSecret({
      namespace: 'kratix-platform-system',
      body: { metadata: { name: `git-${id}` }, stringData: { username: 'kratix', password: 'token-1' } },
    });
    await createGitStateStore(`http-${id}`, {
      url: `${server.url}/state-${id}.git`,
      branch: 'main',
      path: 'clusters',
      secretRef: { name: `git-${id}` },
    });
    await createDestination(`dev-${id}`, { env: `dev-${id}` }, `http-${id}`);
    await createDestination(`prod-${id}`, { env: `prod-${id}`, tier: id }, `http-${id}`, `prod-path-${id}`);
    await waitUntil(
      'store ready',
      async () =>
        condition(await getClusterObject('gitstatestores', `http-${id}`), 'Ready')?.status === 'True',
    );
    await waitUntil(
      'destination ready',
      async () => condition(await getClusterObject('destinations', `dev-${id}`), 'Ready')?.status === 'True',
    );

    const api = uniqueApi('sched');
    const pipeline = writer;
    const selective = JSON.parse(JSON.stringify(writer)) as typeof writer;
    selective.spec.containers[0]!.env = [{ name: 'SELECT', value: `tier: ${id}` }];
    // No Promise selectors: the pipeline's destination-selectors.yaml narrows to the prod one when SELECT is set.
    await applyPromise(promiseFor(api, { workflows: { resource: { configure: [pipeline] } } }));
    const api2 = uniqueApi('narrow');
    await applyPromise(
      promiseFor(api2, {
        destinationSelectors: [{ matchLabels: { env: `prod-${id}` } }],
        workflows: { resource: { configure: [selective] } },
      }),
    );
    const api3 = uniqueApi('pinned');
    await applyPromise(
      promiseFor(api3, {
        destinationSelectors: [{ matchLabels: { env: `dev-${id}` } }],
        workflows: { resource: { configure: [pipeline] } },
      }),
    );
    await Promise.all([api, api2, api3].map((a) => waitForPromiseAvailable(a.promise)));
    const ns = await createTestNamespace('sched');

    // Promise selector pins dev; nested folders are kept.
    const pinned = resources(api3, ns);
    await pinned.create('app', { files: 'one nested/two' });
    const done = await pinned.waitFor('app', 'True');
    expect((done.status?.kratix as { destinations: Record<string, string> }).destinations).toEqual({
      render: `dev-${id}`,
    });
    let co = checkout(bare);
    const dir = `clusters/dev-${id}/resources/${ns}/${api3.promise}/app/render`;
    expect(filesUnder(co, dir)).toEqual(['nested/two.yaml', 'one.yaml']);
    expect(filesUnder(co, `clusters/prod-path-${id}`)).toEqual([]);
    expect(gitLog(bare)[0]).toBe(`${api3.kind} ${ns}/app: pipeline render (Promise ${api3.promise})`);

    // Re-run with a different file set: stale files go; the destination sticks.
    await pinned.patch('app', { spec: { files: 'three' } });
    await waitUntil(
      'generation 2 done',
      async () => (await pinned.get('app')).status?.observedGeneration === 2,
    );
    co = checkout(bare);
    expect(filesUnder(co, dir)).toEqual(['three.yaml']);
    const commits = gitLog(bare).length;
    // A manual re-run with unchanged output makes no commit (waiting for the re-run to finish, not
    // just for the label to go, so git is read after the re-run wrote what it would write).
    const lastRun = (await pinned.get('app')).status?.lastSuccessfulConfigureWorkflowTime;
    await pinned.patch('app', { metadata: { labels: { 'kratix.io/manual-reconciliation': 'true' } } });
    await waitUntil('the manual re-run finished', async () => {
      const o = await pinned.get('app');
      return !o.metadata.labels?.['kratix.io/manual-reconciliation'] &&
        o.status?.lastSuccessfulConfigureWorkflowTime !== lastRun
        ? o
        : undefined;
    });
    expect(gitLog(bare)).toHaveLength(commits);

    // Promise selector AND pipeline selectors: lands in prod-path only.
    const narrow = resources(api2, ns);
    await narrow.create('svc', { files: 'a' });
    await narrow.waitFor('svc', 'True', undefined, 120_000);
    co = checkout(bare);
    expect(filesUnder(co, `clusters/prod-path-${id}/resources/${ns}/${api2.promise}/svc/render`)).toEqual([
      'a.yaml',
    ]);
    expect(
      readFileSync(
        path.join(co, `clusters/prod-path-${id}/resources/${ns}/${api2.promise}/svc/render/a.yaml`),
        'utf8',
      ),
    ).toContain('name: a');
  });

  it('waits for a Destination when none matches, then writes once one appears', async () => {
    const id = uniqueApi('x').group.split('.')[0]!;
    const bare = createBareRepo(root, `late-${id}.git`);
    const api = uniqueApi('late');
    await applyPromise(
      promiseFor(api, {
        destinationSelectors: [{ matchLabels: { late: id } }],
        workflows: { resource: { configure: [writer] } },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('late');
    const rs = resources(api, ns);
    await rs.create('r', { files: 'f' });
    const waiting = await waitUntil('no-destination message', async () => {
      const o = await rs.get('r');
      return String(o.status?.message ?? '').includes('no Destination matches') ? o : undefined;
    });
    expect(waiting.status?.message).toBe(
      `Pipeline "render": no Destination matches late=${id}; waiting for one`,
    );
    expect(
      (await eventsFor(ns, 'r')).some((e) => e.reason === 'NoMatchingDestination' && e.type === 'Warning'),
    ).toBe(true);
    await createGitStateStore(`file-${id}`, { url: `file://${bare}`, branch: 'main' });
    await createDestination(`late-${id}`, { late: id }, `file-${id}`);
    await rs.waitFor('r', 'True', undefined, 90_000);
    expect(filesUnder(checkout(bare), `late-${id}/resources/${ns}/${api.promise}/r/render`)).toEqual([
      'f.yaml',
    ]);
  });

  it('shows wrong credentials on the store and the resource, and recovers once the Secret is fixed', async () => {
    const id = uniqueApi('x').group.split('.')[0]!;
    const bare = createBareRepo(root, `auth-${id}.git`);
    const core = testKubeConfig().makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedSecret({
      namespace: 'kratix-platform-system',
      body: { metadata: { name: `bad-${id}` }, stringData: { username: 'kratix', password: 'wrong' } },
    });
    await createGitStateStore(`auth-${id}`, {
      url: `${server.url}/auth-${id}.git`,
      secretRef: { name: `bad-${id}` },
    });
    await createDestination(`auth-${id}`, { auth: id }, `auth-${id}`);
    const store = await waitUntil('store not ready', async () => {
      const s = await getClusterObject('gitstatestores', `auth-${id}`);
      return condition(s, 'Ready')?.status === 'False' ? s : undefined;
    });
    expect(condition(store, 'Ready')).toMatchObject({ reason: 'AuthenticationFailed' });
    expect(JSON.stringify(store.status)).not.toContain('wrong');

    const api = uniqueApi('auth');
    await applyPromise(
      promiseFor(api, {
        destinationSelectors: [{ matchLabels: { auth: id } }],
        workflows: { resource: { configure: [writer] } },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('auth');
    const rs = resources(api, ns);
    await rs.create('r', { files: 'f' });
    const blocked = await waitUntil('write error on resource', async () => {
      const o = await rs.get('r');
      return String(o.status?.message ?? '').includes('cannot write') ? o : undefined;
    });
    expect(blocked.status?.message).toMatch(
      new RegExp(
        `^Pipeline "render": cannot write to Destination auth-${id}: git .* failed: .*Authentication failed`,
      ),
    );
    expect(JSON.stringify(blocked.status)).not.toContain('wrong');

    await core.patchNamespacedSecret(
      {
        name: `bad-${id}`,
        namespace: 'kratix-platform-system',
        body: { stringData: { password: 'token-1' } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await rs.waitFor('r', 'True', undefined, 120_000);
    await waitUntil(
      'store ready again',
      async () =>
        condition(await getClusterObject('gitstatestores', `auth-${id}`), 'Ready')?.status === 'True',
    );
    expect(filesUnder(checkout(bare), `auth-${id}/resources/${ns}/${api.promise}/r/render`)).toEqual([
      'f.yaml',
    ]);
  });

  it('lands every file of 20 resources writing to one repository at once, with linear history', async () => {
    const id = uniqueApi('x').group.split('.')[0]!;
    const bare = createBareRepo(root, `many-${id}.git`);
    await createGitStateStore(`many-${id}`, { url: `file://${bare}` });
    await createDestination(`many-${id}`, { many: id }, `many-${id}`);
    const api = uniqueApi('many');
    await applyPromise(
      promiseFor(api, {
        destinationSelectors: [{ matchLabels: { many: id } }],
        workflows: { resource: { configure: [writer] } },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('many');
    const rs = resources(api, ns);
    const names = Array.from({ length: 20 }, (_, i) => `r${i}`);
    await Promise.all(names.map((n) => rs.create(n, { files: `${n}-a ${n}-b` })));
    await Promise.all(names.map((n) => rs.waitFor(n, 'True', undefined, 120_000)));
    const co = checkout(bare);
    for (const n of names)
      expect(filesUnder(co, `many-${id}/resources/${ns}/${api.promise}/${n}/render`)).toEqual([
        `${n}-a.yaml`,
        `${n}-b.yaml`,
      ]);
    // Writes that queue up are folded into group commits: no commit lost, each resource named.
    const log = execFileSync('git', ['-C', bare, 'log', '--format=%B', 'main'], { encoding: 'utf8' });
    const commits = gitLog(bare).length;
    // Fewer commits than resources: without group commits there would be one per resource.
    expect(commits).toBeGreaterThanOrEqual(1);
    expect(commits).toBeLessThan(20);
    for (const n of names) expect(log).toContain(`${ns}/${n}: pipeline render`);
    const merges = execFileSync('git', ['-C', bare, 'log', '--merges', '--oneline', 'main'], {
      encoding: 'utf8',
    }).trim();
    expect(merges).toBe('');
  });

  it('commits nothing when an output file is not a Kubernetes document', async () => {
    const id = uniqueApi('x').group.split('.')[0]!;
    const bare = createBareRepo(root, `bad-${id}.git`);
    await createGitStateStore(`badout-${id}`, { url: `file://${bare}` });
    await createDestination(`badout-${id}`, { badout: id }, `badout-${id}`);
    const api = uniqueApi('badfile');
    await applyPromise(
      promiseFor(api, {
        destinationSelectors: [{ matchLabels: { badout: id } }],
        workflows: {
          resource: {
            configure: [
              shPipeline('render', [
                `printf '${configMap('good').replace(/\n/g, '\\n')}' > /kratix/output/good.yaml; echo 'just text' > /kratix/output/notes.txt`,
              ]),
            ],
          },
        },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('badfile');
    const rs = resources(api, ns);
    await rs.create('r', {});
    const failed = await rs.waitFor('r', 'False', 'PipelineFailed');
    expect(condition(failed, 'PipelineCompleted')!.message).toContain('output file notes.txt');
    expect(
      execFileSync('git', ['-C', bare, 'rev-list', '--all', '--count'], { encoding: 'utf8' }).trim(),
    ).toBe('0');
  });
});
