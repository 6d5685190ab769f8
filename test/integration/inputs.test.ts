import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { resolveBinary } from '../../src/infra/binaries.js';
import { createTestNamespace, testKubeConfig } from '../support/cluster.js';
import {
  applyPromise,
  condition,
  promiseFor,
  resources,
  shPipeline,
  uniqueApi,
  waitForPromiseAvailable,
  waitUntil,
} from '../support/promises.js';
import { testTemporalAddress } from '../support/temporal.js';

const execFileP = promisify(execFile);

describe('pipeline inputs and runs', () => {
  it('resolves secretKeyRef and envFrom in the pipeline namespace; a missing Secret fails clearly', async () => {
    const api = uniqueApi('secret');
    const ns = await createTestNamespace('secret');
    const core = testKubeConfig().makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'api' }, stringData: { token: 's3cr3t' } },
    });
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'settings' }, data: { REGION: 'eu-west' } },
    });
    const pipeline = shPipeline('use-secret', [
      `[ "$TOKEN" = s3cr3t ] && echo "tokenOk: true" > /kratix/metadata/status.yaml; echo "region: $CFG_REGION" >> /kratix/metadata/status.yaml`,
    ]);
    pipeline.spec.containers[0]!.env = [
      { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'api', key: 'token' } } },
    ];
    pipeline.spec.containers[0]!.envFrom = [{ prefix: 'CFG_', configMapRef: { name: 'settings' } }];
    await applyPromise(promiseFor(api, { workflows: { resource: { configure: [pipeline] } } }));
    await waitForPromiseAvailable(api.promise);
    const rs = resources(api, ns);
    await rs.create('ok', {});
    const done = await rs.waitFor('ok', 'True');
    expect(done.status).toMatchObject({ tokenOk: true, region: 'eu-west' });

    const other = await createTestNamespace('nosecret');
    await core.createNamespacedConfigMap({
      namespace: other,
      body: { metadata: { name: 'settings' }, data: { REGION: 'us' } },
    });
    const rs2 = resources(api, other);
    await rs2.create('missing', {});
    const failed = await rs2.waitFor('missing', 'False', 'PipelineFailed');
    expect(condition(failed, 'PipelineCompleted')!.message).toBe(
      `Pipeline "use-secret" failed: container "step-0": env TOKEN refers to key "token" of Secret "api", which does not exist in namespace ${other}`,
    );
    expect(JSON.stringify(failed.status)).not.toContain('s3cr3t');
  });

  it('lets the running pipeline finish after a spec change, then restarts from the first pipeline', async () => {
    const api = uniqueApi('restart');
    const ns = await createTestNamespace('restart');
    // Each pipeline records the spec.v it saw; "slow" takes long enough to change the spec under it.
    const record = (key: string, wait = '') =>
      `${wait}v=$(sed -n 's/^  v: \\(.*\\)$/\\1/p' /kratix/input/object.yaml | head -1); echo "${key}: \\"$v\\"" > /kratix/metadata/status.yaml; log=$(sed -n 's/^  ${key}Log: "\\{0,1\\}\\([^"]*\\)"\\{0,1\\}$/\\1/p' /kratix/input/object.yaml); echo "${key}Log: \\"$log$v,\\"" >> /kratix/metadata/status.yaml`;
    await applyPromise(
      promiseFor(api, {
        workflows: {
          resource: {
            configure: [
              shPipeline('slow', [record('slow', 'sleep 4; ')]),
              shPipeline('after', [record('after')]),
            ],
          },
        },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const rs = resources(api, ns);
    await rs.create('r', { v: 'one' });
    await waitUntil('slow running', async () => {
      const o = await rs.get('r');
      return (
        (o.status?.kratix as { workflows?: { pipelines?: { phase: string }[] } })?.workflows?.pipelines?.[0]
          ?.phase === 'Running'
      );
    });
    await rs.patch('r', { spec: { v: 'two' } });
    const done = await rs.waitFor('r', 'True', undefined, 90_000);
    // "slow" finished with v=one, then the run restarted: slow and after both saw v=two;
    // "after" never ran with the old spec.
    expect(done.status).toMatchObject({ slow: 'two', after: 'two', slowLog: 'one,two,', afterLog: 'two,' });
  });

  it('tags runs with search attributes that the temporal CLI can query', async () => {
    const api = uniqueApi('search');
    const ns = await createTestNamespace('search');
    await applyPromise(
      promiseFor(api, { workflows: { resource: { configure: [shPipeline('p', ['true'])] } } }),
    );
    await waitForPromiseAvailable(api.promise);
    await resources(api, ns).create('r', {});
    await resources(api, ns).waitFor('r', 'True');
    const list = async () =>
      (
        await execFileP(resolveBinary('temporal'), [
          'workflow',
          'list',
          '--address',
          testTemporalAddress(),
          '--query',
          `KratixPromise='${api.promise}'`,
          '--output',
          'json',
        ])
      ).stdout;
    const out = await waitUntil('2 workflows listed', async () => {
      const rows = JSON.parse((await list()) || '[]') as {
        execution: { workflowId: string };
        type: { name: string };
      }[];
      return rows.length >= 2 ? rows : undefined;
    });
    // The Promise's lifecycle and the Resource's (their configure runs run inside them).
    expect(out.map((r) => r.type.name).sort()).toEqual(['promiseLifecycle', 'resourceLifecycle']);
    expect(out.map((r) => r.execution.workflowId)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^resource/${api.promise}/${ns}/r/[0-9a-f-]+$`)),
      ]),
    );
  });
});
