// Issue 12 item 7: Destinations as upstream: filepath.mode nestedByMetadata / none /
// aggregatedYAML, cleanup none|all, a late Destination gets the Promises' output at once, output
// that moves leaves the old Destination, per-directory groups in destination-selectors.yaml.
import { mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createTestNamespace, kubectl } from '../support/cluster.js';
import { createBareRepo } from '../support/git-server.js';
import {
  applyPromise,
  condition,
  eventsFor,
  isGone,
  promiseFor,
  resources,
  shPipeline,
  uniqueApi,
  waitForPromiseAvailable,
  waitUntil,
} from '../support/promises.js';
import { checkout, createGitStateStore, filesUnder, getClusterObject } from '../support/state-store.js';
import { kubectlApply } from '../support/upstream.js';

/**
 * One ConfigMap file per word of spec.files ("infra/b" lands in a folder); destination-selectors.yaml
 * from spec.target (default group) and spec.infraTarget (the `directory: spec.infraDir`, default infra).
 */
const writer = shPipeline('render', [
  `val() { sed -n "s/^  $1: //p" /kratix/input/object.yaml | head -1; }
for f in $(val files); do mkdir -p "/kratix/output/$(dirname "$f")"; printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: %s\\n' "$(basename "$f")" > "/kratix/output/$f.yaml"; done
target=$(val target); infra=$(val infraTarget); dir=$(val infraDir)
{ if [ -n "$target" ]; then printf -- '- matchLabels:\\n    dest: %s\\n' "$target"; fi
  if [ -n "$infra" ]; then printf -- '- directory: %s\\n  matchLabels:\\n    dest: %s\\n' "\${dir:-infra}" "$infra"; fi
} > /kratix/metadata/destination-selectors.yaml`,
]);

function destination(name: string, store: string, extra: string): string {
  return `apiVersion: platform.kratix.io/v1alpha1
kind: Destination
metadata:
  name: ${name}
  labels:
    dest: ${name}
spec:
  path: ${name}
  strictMatchLabels: true
  stateStoreRef:
    kind: GitStateStore
    name: ${store}
${extra}`;
}

describe('Destinations as upstream', () => {
  let bare: string;
  let store: string;
  let id: string;
  const co = () => checkout(bare);
  const apply = async (yaml: string) => {
    const r = await kubectlApply(yaml);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  };

  beforeAll(async () => {
    id = uniqueApi('x').group.split('.')[0]!;
    bare = createBareRepo(mkdtempSync(path.join(process.env.KRATIX_TEST_DIR!, 'up-dests-')), 'state.git');
    store = `up-dests-${id}`;
    await createGitStateStore(store, { url: `file://${bare}` });
  });

  it('filepath.mode none and aggregatedYAML', async () => {
    const flat = `flat-${id}`;
    const agg = `agg-${id}`;
    await apply(destination(flat, store, '  filepath:\n    mode: none\n'));
    await apply(destination(agg, store, '  filepath:\n    mode: aggregatedYAML\n    filename: all.yaml\n'));
    const fApi = uniqueApi('flat');
    const gApi = uniqueApi('agg');
    await applyPromise(
      promiseFor(fApi, {
        destinationSelectors: [{ matchLabels: { dest: flat } }],
        workflows: { resource: { configure: [writer] } },
      }),
    );
    await applyPromise(
      promiseFor(gApi, {
        destinationSelectors: [{ matchLabels: { dest: agg } }],
        workflows: { resource: { configure: [writer] } },
      }),
    );
    await Promise.all([fApi, gApi].map((a) => waitForPromiseAvailable(a.promise)));
    const ns = await createTestNamespace('up-flat');
    const f = resources(fApi, ns);
    const g = resources(gApi, ns);
    await Promise.all([
      f.create('a', { files: 'one sub/two' }),
      g.create('a', { files: 'x' }),
      g.create('b', { files: 'y z' }),
    ]);
    await Promise.all([f.waitFor('a', 'True'), g.waitFor('a', 'True'), g.waitFor('b', 'True')]);

    // none: the files as written, plus the state file that lists them.
    let c = co();
    const state = `.kratix/resources_${ns}_${fApi.promise}_a_render.yaml`;
    expect(filesUnder(c, flat)).toEqual([state, 'one.yaml', 'sub/two.yaml'].sort());
    await f.patch('a', { spec: { files: 'three' } });
    await waitUntil('generation 2', async () => (await f.get('a')).status?.observedGeneration === 2);
    expect(filesUnder(co(), flat)).toEqual([state, 'three.yaml'].sort());

    // aggregatedYAML: every document of every object in one file.
    c = co();
    const names = () =>
      (readFileSync(path.join(c, agg, 'all.yaml'), 'utf8').match(/name: \w+/g) ?? []).sort();
    expect(names()).toEqual(['name: x', 'name: y', 'name: z']);

    // Deleting objects removes exactly their files.
    await Promise.all([f.delete('a'), g.delete('a')]);
    await Promise.all([f.waitGone('a'), g.waitGone('a')]);
    c = co();
    expect(filesUnder(c, flat)).toEqual([]);
    expect(names()).toEqual(['name: y', 'name: z']);

    // filepath.mode is immutable, as upstream.
    const change = await kubectl([
      'patch',
      'destination',
      flat,
      '--type=merge',
      '-p',
      '{"spec":{"filepath":{"mode":"aggregatedYAML"}}}',
    ]);
    expect(change.code).not.toBe(0);
    expect(change.stderr).toMatch(/filepath.mode is immutable/);
  });

  it('a Destination that appears later receives the existing Promise dependencies at once', async () => {
    const late = `late-${id}`;
    const api = uniqueApi('late');
    await applyPromise(
      promiseFor(api, {
        destinationSelectors: [{ matchLabels: { dest: late } }],
        dependencies: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `dep-${id}` } }],
      }),
    );
    await waitForPromiseAvailable(api.promise);
    // The Promise's reconcile interval is 10h: only the new Destination can bring it there.
    const t0 = Date.now();
    await apply(destination(late, store, ''));
    const dir = `${late}/dependencies/${api.promise}/static`;
    await waitUntil(
      'dependencies written to the late Destination',
      () => filesUnder(co(), dir).length > 0,
      60_000,
      1000,
    );
    expect(filesUnder(co(), dir)).toEqual(['dependencies.yaml']);
    expect(Date.now() - t0).toBeLessThan(60_000);
  });

  it('output that moves leaves the old Destination; directories are scheduled on their own', async () => {
    const m1 = `m1-${id}`;
    const m2 = `m2-${id}`;
    await apply(destination(m1, store, ''));
    await apply(destination(m2, store, ''));
    const api = uniqueApi('move');
    await applyPromise(promiseFor(api, { workflows: { resource: { configure: [writer] } } }));
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('up-move');
    const r = resources(api, ns);
    const at = (d: string, name: string) => `${d}/resources/${ns}/${api.promise}/${name}/render`;

    await r.create('app', { files: 'a', target: m1 });
    await r.waitFor('app', 'True');
    expect(filesUnder(co(), at(m1, 'app'))).toEqual(['a.yaml']);
    await r.patch('app', { spec: { target: m2 } });
    await waitUntil('generation 2', async () => (await r.get('app')).status?.observedGeneration === 2);
    let c = co();
    expect(filesUnder(c, at(m2, 'app'))).toEqual(['a.yaml']);
    expect(filesUnder(c, at(m1, 'app'))).toEqual([]);

    // destination-selectors.yaml with a directory: infra/ goes to m2, the rest to m1.
    await r.create('split', { files: 'a infra/b', target: m1, infraTarget: m2 });
    const split = await r.waitFor('split', 'True');
    c = co();
    expect(filesUnder(c, at(m1, 'split'))).toEqual(['a.yaml']);
    expect(filesUnder(c, at(m2, 'split'))).toEqual(['infra/b.yaml']);
    expect((split.status?.kratix as { destinations: Record<string, string> }).destinations).toEqual({
      render: m1,
      'render/infra': m2,
    });

    // A sub-directory is refused as upstream refuses it: a clear failure and an Event.
    await r.create('nested', { files: 'infra/sub/c', target: m1, infraTarget: m2, infraDir: 'infra/sub' });
    const failed = await r.waitFor('nested', 'False', 'PipelineFailed');
    expect(condition(failed, 'PipelineCompleted')?.message).toMatch(/sub-directories are not allowed/);
    expect(
      (await eventsFor(ns, 'nested')).some(
        (e) => e.type === 'Warning' && /sub-directories/.test(e.message ?? ''),
      ),
    ).toBe(true);
  });

  it("cleanup: all removes the Destination's files when it is deleted; none leaves them", async () => {
    const keep = `keep-${id}`;
    const wipe = `wipe-${id}`;
    await apply(destination(keep, store, '  cleanup: none\n'));
    await apply(destination(wipe, store, '  cleanup: all\n'));
    // Labelled while the Promise installs: whichever comes first, both get its dependencies.
    const api = uniqueApi('clean');
    await applyPromise(
      promiseFor(api, {
        destinationSelectors: [{ matchLabels: { cleanup: 'yes' } }],
        dependencies: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `c-${id}` } }],
      }),
    );
    for (const d of [keep, wipe])
      expect((await kubectl(['label', 'destination', d, 'cleanup=yes'])).code).toBe(0);
    await waitForPromiseAvailable(api.promise);
    await waitUntil(
      'dependencies in both',
      () => filesUnder(co(), keep).length > 0 && filesUnder(co(), wipe).length > 0,
      60_000,
      1000,
    );
    await waitUntil('finalizer on the cleanup: all Destination', async () =>
      (
        (await getClusterObject('destinations', wipe)) as { metadata?: { finalizers?: string[] } }
      ).metadata?.finalizers?.includes('kratix.io/destination-cleanup'),
    );
    expect((await kubectl(['delete', 'destination', keep, wipe, '--wait', '--timeout=60s'])).code).toBe(0);
    await waitUntil(
      'both gone',
      async () => (await isGone(() => getClusterObject('destinations', wipe))) && true,
    );
    const c = co();
    expect(filesUnder(c, wipe)).toEqual([]);
    expect(filesUnder(c, keep)).not.toEqual([]);
  });
});
