import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { createTestNamespace, testKubeConfig } from '../support/cluster.js';
import { createBareRepo } from '../support/git-server.js';
import {
  applyPromise,
  condition,
  eventsFor,
  getPromise,
  isGone,
  promiseFor,
  resources,
  shPipeline,
  uniqueApi,
  waitForPromiseAvailable,
  waitUntil,
} from '../support/promises.js';
import { BucketWriter } from '../../src/statestore/bucket.js';
import { S3TestServer } from '../support/s3-server.js';
import { testTemporalClient } from '../support/temporal.js';
import {
  checkout,
  createBucketStateStore,
  createDestination,
  createGitStateStore,
  filesUnder,
  getClusterObject,
} from '../support/state-store.js';

/** One ConfigMap file per word of spec.files; SELECT adds a destination selector (key: value). */
const writer = shPipeline('render', [
  `files=$(sed -n 's/^  files: //p' /kratix/input/object.yaml | head -1)
for f in $files; do mkdir -p "/kratix/output/$(dirname "$f")"; printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: %s\\n' "$(basename "$f")" > "/kratix/output/$f.yaml"; done
[ -n "$SELECT" ] && printf -- '- matchLabels:\\n    %s\\n' "$SELECT" > /kratix/metadata/destination-selectors.yaml || true`,
]);
const selecting = (selector: string) => {
  const p = JSON.parse(JSON.stringify(writer)) as typeof writer;
  p.spec.containers[0]!.env = [{ name: 'SELECT', value: selector }];
  return p;
};

const core = () => testKubeConfig().makeApiClient(k8s.CoreV1Api);

/** Every decoded payload of every workflow of a Promise, as text. */
async function historiesOf(promise: string): Promise<string> {
  const { client, close } = await testTemporalClient();
  try {
    let text = '';
    for await (const wf of client.workflow.list({ query: `KratixPromise = "${promise}"` })) {
      const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      text += JSON.stringify(history, (k, v: unknown) =>
        k === 'data' && typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : v,
      );
    }
    return text;
  } finally {
    await close();
  }
}
const PLATFORM = 'kratix-platform-system';

describe('BucketStateStore (a real S3-compatible server)', () => {
  const s3 = new S3TestServer();

  beforeAll(() => s3.start());
  afterAll(() => s3.stop());

  async function bucketStore(
    id: string,
    secret: Record<string, string>,
    bucket = `b-${id}`,
  ): Promise<string> {
    await s3.createBucket(bucket).catch(() => undefined);
    await core().createNamespacedSecret({
      namespace: PLATFORM,
      body: { metadata: { name: `s3-${id}` }, stringData: secret },
    });
    // Upstream Kratix's own shape (endpoint without scheme + insecure, namespaced secretRef).
    await createBucketStateStore(`bucket-${id}`, {
      endpoint: s3.endpoint,
      insecure: true,
      bucketName: bucket,
      path: 'platform',
      authMethod: 'accessKey',
      secretRef: { name: `s3-${id}`, namespace: PLATFORM },
    });
    return bucket;
  }

  const goodKeys = () => ({ accessKeyID: s3.accessKeyID, secretAccessKey: s3.secretAccessKey });

  it('receives a Promise dependencies and a Resource output at the same paths as git, and loses them on delete', async () => {
    const id = uniqueApi('x').group.split('.')[0]!;
    const bucket = await bucketStore(id, goodKeys());
    const bare = createBareRepo(
      mkdtempSync(path.join(process.env.KRATIX_TEST_DIR!, 'bucket-git-')),
      'state.git',
    );
    await createGitStateStore(`git-${id}`, { url: `file://${bare}`, path: 'platform' });
    await createDestination(
      `onbucket-${id}`,
      { pair: id, store: 'bucket' },
      `bucket-${id}`,
      undefined,
      'BucketStateStore',
    );
    await createDestination(`ongit-${id}`, { pair: id, store: 'git' }, `git-${id}`);

    const store = await waitUntil('bucket store Ready', async () => {
      const s = await getClusterObject('bucketstatestores', `bucket-${id}`);
      return condition(s, 'Ready')?.status === 'True' ? s : undefined;
    });
    expect(store.status?.status).toBe('Ready');
    expect(condition(store, 'Ready')).toMatchObject({
      reason: 'BucketReachable',
      message: `Bucket ${bucket} reachable and writable`,
    });
    await waitUntil('bucket destination Ready', async () => {
      const d = await getClusterObject('destinations', `onbucket-${id}`);
      return condition(d, 'Ready')?.message === `Ready (BucketStateStore bucket-${id})`;
    });
    // The write-permission check leaves nothing behind.
    expect(await s3.keys(bucket)).toEqual([]);

    const api = uniqueApi('bucket');
    await applyPromise(
      promiseFor(api, {
        destinationSelectors: [{ matchLabels: { pair: id } }],
        dependencies: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `dep-${id}` } }],
        workflows: { resource: { configure: [selecting('store: bucket')] } },
      }),
    );
    await waitForPromiseAvailable(api.promise);

    // Promise output goes to every matching Destination: the same files in git and in the bucket.
    const depsDir = (dest: string) => `platform/${dest}/dependencies/${api.promise}/static`;
    const inBucket = await waitUntil('dependencies in the bucket', async () => {
      const keys = await s3.keys(bucket, `${depsDir(`onbucket-${id}`)}/`);
      return keys.length ? keys : undefined;
    });
    const inGit = filesUnder(checkout(bare), depsDir(`ongit-${id}`));
    expect(inBucket.map((k) => k.slice(depsDir(`onbucket-${id}`).length + 1))).toEqual(inGit);
    expect(inGit).toEqual(['dependencies.yaml']);
    expect(await s3.read(bucket, `${depsDir(`onbucket-${id}`)}/dependencies.yaml`)).toBe(
      readFileSync(path.join(checkout(bare), depsDir(`ongit-${id}`), 'dependencies.yaml'), 'utf8'),
    );

    // A Resource scheduled to the bucket Destination: its files appear under the same layout.
    const ns = await createTestNamespace('bucket');
    const rs = resources(api, ns);
    await rs.create('app', { files: 'one nested/two' });
    const done = await rs.waitFor('app', 'True');
    expect((done.status?.kratix as { destinations: Record<string, string> }).destinations).toEqual({
      render: `onbucket-${id}`,
    });
    const resDir = `platform/onbucket-${id}/resources/${ns}/${api.promise}/app/render`;
    expect(await s3.keys(bucket, `platform/onbucket-${id}/resources/`)).toEqual([
      `${resDir}/nested/two.yaml`,
      `${resDir}/one.yaml`,
    ]);
    expect(await s3.read(bucket, `${resDir}/one.yaml`)).toContain('name: one');
    expect(filesUnder(checkout(bare), `platform/ongit-${id}/resources`)).toEqual([]);

    // A re-run with other files replaces the folder: stale objects go.
    await rs.patch('app', { spec: { files: 'three' } });
    await waitUntil('re-run wrote three only', async () => {
      const keys = await s3.keys(bucket, `${resDir}/`);
      return keys.length === 1 && keys[0] === `${resDir}/three.yaml`;
    });

    // Deleting the Resource removes its objects; deleting the Promise its dependencies, everywhere.
    await rs.delete('app');
    await rs.waitGone('app');
    expect(await s3.keys(bucket, `platform/onbucket-${id}/resources/`)).toEqual([]);
    await testKubeConfig().makeApiClient(k8s.CustomObjectsApi).deleteClusterCustomObject({
      group: 'platform.kratix.io',
      version: 'v1alpha1',
      plural: 'promises',
      name: api.promise,
    });
    await waitUntil('Promise gone', () => isGone(() => getPromise(api.promise)));
    expect(await s3.keys(bucket)).toEqual([]);
    expect(filesUnder(checkout(bare), `platform/ongit-${id}/dependencies`)).toEqual([]);
  });

  it('shows bad credentials on the store and the Resource, keeps other stores working, recovers once fixed', async () => {
    const id = uniqueApi('x').group.split('.')[0]!;
    const wrong = 'not-the-secret-key';
    const bucket = await bucketStore(id, { accessKeyID: s3.accessKeyID, secretAccessKey: wrong });
    await createDestination(`bad-${id}`, { badcreds: id }, `bucket-${id}`, undefined, 'BucketStateStore');
    // A second, healthy bucket store on the same server.
    const okId = `${id}ok`;
    const okBucket = await bucketStore(okId, goodKeys());
    await createDestination(`ok-${id}`, { okcreds: id }, `bucket-${okId}`, undefined, 'BucketStateStore');

    const store = await waitUntil('store not ready', async () => {
      const s = await getClusterObject('bucketstatestores', `bucket-${id}`);
      return condition(s, 'Ready')?.status === 'False' ? s : undefined;
    });
    expect(condition(store, 'Ready')).toMatchObject({ reason: 'AuthenticationFailed' });
    expect(store.status?.status).toBe('NotReady');
    expect(condition(store, 'Ready')!.message).toMatch(
      new RegExp(`^bucket ${bucket} at ${s3.endpoint}: list failed: SignatureDoesNotMatch \\(HTTP 403\\)`),
    );
    expect(JSON.stringify(store.status)).not.toContain(wrong);
    await waitUntil('store event', async () =>
      (await eventsFor('default', `bucket-${id}`)).some(
        (e) => e.type === 'Warning' && e.reason === 'AuthenticationFailed',
      ),
    );
    const dest = await waitUntil('destination not ready', async () => {
      const d = await getClusterObject('destinations', `bad-${id}`);
      return condition(d, 'Ready')?.reason === 'StateStoreNotReady' ? d : undefined;
    });
    expect(condition(dest, 'Ready')!.message).toContain(`BucketStateStore bucket-${id} is not ready`);

    const badApi = uniqueApi('badcreds');
    const okApi = uniqueApi('okcreds');
    await applyPromise(
      promiseFor(badApi, {
        destinationSelectors: [{ matchLabels: { badcreds: id } }],
        workflows: { resource: { configure: [writer] } },
      }),
    );
    await applyPromise(
      promiseFor(okApi, {
        destinationSelectors: [{ matchLabels: { okcreds: id } }],
        workflows: { resource: { configure: [writer] } },
      }),
    );
    await Promise.all([badApi, okApi].map((a) => waitForPromiseAvailable(a.promise)));
    const ns = await createTestNamespace('badcreds');
    const bad = resources(badApi, ns);
    const ok = resources(okApi, ns);
    await bad.create('r', { files: 'f' });
    await ok.create('r', { files: 'g' });

    const blocked = await waitUntil('write error on the resource', async () => {
      const o = await bad.get('r');
      return String(o.status?.message ?? '').includes('cannot write') ? o : undefined;
    });
    expect(blocked.status?.message).toMatch(
      new RegExp(
        `^Pipeline "render": cannot write to Destination bad-${id}: bucket ${bucket} at .*: list failed: SignatureDoesNotMatch`,
      ),
    );
    expect(JSON.stringify(blocked.status)).not.toContain(wrong);
    expect(
      (await eventsFor(ns, 'r')).some((e) => e.type === 'Warning' && e.reason === 'FailedWriteToDestination'),
    ).toBe(true);
    // The healthy store is unaffected.
    await ok.waitFor('r', 'True');
    expect(await s3.keys(okBucket, `platform/ok-${id}/resources/`)).toEqual([
      `platform/ok-${id}/resources/${ns}/${okApi.promise}/r/render/g.yaml`,
    ]);
    expect(await s3.keys(bucket)).toEqual([]);

    // Fixing the Secret is enough: the store recovers and the retried write lands.
    await core().patchNamespacedSecret(
      {
        name: `s3-${id}`,
        namespace: PLATFORM,
        body: { stringData: { secretAccessKey: s3.secretAccessKey } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await bad.waitFor('r', 'True', undefined, 120_000);
    expect(await s3.keys(bucket, `platform/bad-${id}/`)).toEqual([
      `platform/bad-${id}/resources/${ns}/${badApi.promise}/r/render/f.yaml`,
    ]);
    await waitUntil(
      'store ready again',
      async () =>
        condition(await getClusterObject('bucketstatestores', `bucket-${id}`), 'Ready')?.status === 'True',
    );

    // Neither key reached Temporal or the logs.
    const histories = await historiesOf(badApi.promise);
    expect(histories).toContain('runPipeline');
    const dir = process.env.KRATIX_TEST_DIR!;
    const logs = readdirSync(dir)
      .filter((f) => f.endsWith('.log'))
      .map((f) => readFileSync(path.join(dir, f), 'utf8'));
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of [wrong, s3.secretAccessKey]) {
      expect(histories).not.toContain(secret);
      for (const log of logs) expect(log).not.toContain(secret);
    }
  });

  it('keeps the writer contract git keeps: replace a folder, read back, idempotent, remove, neighbours untouched', async () => {
    const bucket = `contract-${uniqueApi('x').group.split('.')[0]!}`;
    await s3.createBucket(bucket);
    const writers = new BucketWriter();
    const writer = writers.bind(
      {
        endpoint: s3.endpoint,
        insecure: true,
        bucketName: bucket,
        credentials: {
          accessKeyId: s3.accessKeyID,
          secretAccessKey: s3.secretAccessKey,
        },
      },
      'p',
    );
    try {
      await writer.check();
      await writer.write({ dir: 'p/a/bc', files: [{ path: 'n.yaml', content: 'n' }], message: 'neighbour' });
      const first = await writer.write({
        dir: 'p/a/b',
        files: [
          { path: 'x.yaml', content: 'x: 1' },
          { path: 'sub dir/y+z.yaml', content: 'y' },
        ],
        message: 'first',
      });
      expect(first.version).toMatch(/^[0-9a-f]{64}$/);
      expect(await writer.read('p/a/b/sub dir/y+z.yaml')).toBe('y');
      const same = await writer.write({
        dir: 'p/a/b/',
        files: [
          { path: 'x.yaml', content: 'x: 1' },
          { path: 'sub dir/y+z.yaml', content: 'y' },
        ],
        message: 'same',
      });
      expect(same).toEqual({});
      await writer.write({ dir: 'p/a/b', files: [{ path: 'x.yaml', content: 'x: 2' }], message: 'second' });
      expect(await s3.keys(bucket)).toEqual(['p/a/b/x.yaml', 'p/a/bc/n.yaml']);
      expect(await writer.read('p/a/b/x.yaml')).toBe('x: 2');
      expect(await writer.write({ dir: 'p/a/b', files: [], message: 'removed' })).toHaveProperty('version');
      expect(await writer.read('p/a/b/x.yaml')).toBeUndefined();
      expect(await s3.keys(bucket)).toEqual(['p/a/bc/n.yaml']);
      await expect(
        writer.write({ dir: 'p/a/b', files: [{ path: '../../escape.yaml', content: 'e' }], message: 'bad' }),
      ).rejects.toThrow(/invalid output file path/);
      expect(await s3.keys(bucket)).toEqual(['p/a/bc/n.yaml']);
    } finally {
      writers.close();
    }
  });

  it('names what is wrong with a store that cannot be used at all', async () => {
    const id = uniqueApi('x').group.split('.')[0]!;
    await core().createNamespacedSecret({
      namespace: PLATFORM,
      body: { metadata: { name: `s3-${id}` }, stringData: { accessKeyID: s3.accessKeyID } },
    });
    const cases: [string, Record<string, unknown>, RegExp][] = [
      [
        `nokey-${id}`,
        { endpoint: s3.endpoint, insecure: true, bucketName: 'x', secretRef: { name: `s3-${id}` } },
        /Secret kratix-platform-system\/s3-.* is missing key secretAccessKey$/,
      ],
      [
        `nosecret-${id}`,
        { endpoint: s3.endpoint, insecure: true, bucketName: 'x', authMethod: 'accessKey' },
        /authMethod accessKey needs spec.secretRef/,
      ],
      [
        `nobucket-${id}`,
        {
          endpoint: s3.endpoint,
          insecure: true,
          bucketName: `missing-${id}`,
          secretRef: { name: `s3-ok-${id}` },
        },
        /Secret kratix-platform-system\/s3-ok-.* not found/,
      ],
    ];
    for (const [name, spec] of cases) await createBucketStateStore(name, spec);
    for (const [name, , message] of cases) {
      const s = await waitUntil(`${name} not ready`, async () => {
        const o = await getClusterObject('bucketstatestores', name);
        return condition(o, 'Ready')?.status === 'False' ? o : undefined;
      });
      expect(condition(s, 'Ready')).toMatchObject({ reason: 'InvalidConfiguration' });
      expect(condition(s, 'Ready')!.message).toMatch(message);
    }
    // The missing Secret appears: now the missing bucket is what the condition names.
    await core().createNamespacedSecret({
      namespace: PLATFORM,
      body: { metadata: { name: `s3-ok-${id}` }, stringData: goodKeys() },
    });
    const s = await waitUntil('bucket not found', async () => {
      const o = await getClusterObject('bucketstatestores', `nobucket-${id}`);
      return condition(o, 'Ready')?.reason === 'NotFound' ? o : undefined;
    });
    expect(condition(s, 'Ready')!.message).toContain('NoSuchBucket');
  });
});
