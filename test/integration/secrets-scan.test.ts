import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { createTestNamespace, testKubeConfig } from '../support/cluster.js';
import {
  applyPromise,
  promiseFor,
  resources,
  shPipeline,
  uniqueApi,
  waitForPromiseAvailable,
} from '../support/promises.js';
import { testTemporalClient } from '../support/temporal.js';

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

describe('secrets stay out of Temporal and the logs', () => {
  it('resolves secretKeyRef and envFrom for a pipeline with 0 hits of the value in histories and logs', async () => {
    const value = `s3cr3t-${Date.now().toString(36)}`;
    const api = uniqueApi('secretive');
    const ns = await createTestNamespace('secretive');
    const core = testKubeConfig().makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'db' }, stringData: { password: value } },
    });
    const pipeline = shPipeline('use', [
      // Uses the value (a digest of it lands in status) without printing it.
      `echo "digest: \\"$(printf %s "$PASSWORD" | sha256sum | cut -c1-12)\\"" > /kratix/metadata/status.yaml
echo "fromEnvFrom: \\"$(printf %s "$DB_password" | wc -c | tr -d ' ')\\"" >> /kratix/metadata/status.yaml`,
    ]);
    pipeline.spec.containers[0]!.env = [
      { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
    ];
    pipeline.spec.containers[0]!.envFrom = [{ prefix: 'DB_', secretRef: { name: 'db' } }];
    await applyPromise(promiseFor(api, { workflows: { resource: { configure: [pipeline] } } }));
    await waitForPromiseAvailable(api.promise);
    const rs = resources(api, ns);
    await rs.create('app', {});
    const done = await rs.waitFor('app', 'True');
    expect(done.status?.fromEnvFrom).toBe(String(value.length)); // the value really reached the pipeline

    const histories = await historiesOf(api.promise);
    expect(histories).toContain('runPipeline'); // the scan covers the configure run
    expect(histories.split(value).length - 1).toBe(0);
    const dir = process.env.KRATIX_TEST_DIR!;
    const logs = readdirSync(dir).filter((f) => f.endsWith('.log'));
    expect(logs).toContain('worker.log');
    for (const log of logs) expect(readFileSync(path.join(dir, log), 'utf8').split(value).length - 1).toBe(0);
  });
});
