// Issue 12 item 6: spec.workflows.config.pipelineNamespace, as upstream: the Promise's pipelines
// (promise and resource workflows) run there, with their ServiceAccount and RBAC there.
import * as k8s from '@kubernetes/client-node';
import { createTestNamespace, testKubeConfig } from '../support/cluster.js';
import {
  applyPromise,
  condition,
  eventsFor,
  getPromise,
  promiseFor,
  resources,
  shPipeline,
  uniqueApi,
  waitForPromiseAvailable,
  waitUntil,
} from '../support/promises.js';
import { pipelineServiceAccountName } from '../../src/core/names.js';

/** Writes where the pipeline runs (its kubeconfig's namespace) and whether it can read its object. */
const whereScript = (read: string) => `cat > /kratix/metadata/status.yaml <<EOF
ranIn: $(kubectl config view --minify -o jsonpath='{..namespace}')
canReadSelf: $(if ${read} >/dev/null 2>&1; then echo yes; else echo no; fi)
EOF`;

describe('pipelineNamespace', () => {
  it('runs promise and resource pipelines in the named namespace; bad values are reported', async () => {
    const pipelines = await createTestNamespace('up-pipes');
    const ns = await createTestNamespace('up-res');
    const api = uniqueApi('pns');
    await applyPromise(
      promiseFor(api, {
        workflows: {
          config: { pipelineNamespace: pipelines },
          promise: {
            configure: [shPipeline('setup', [whereScript('kubectl get promise "$KRATIX_OBJECT_NAME"')])],
          },
          resource: {
            configure: [
              shPipeline('render', [
                whereScript(
                  `kubectl get ${api.plural}.${api.group} "$KRATIX_OBJECT_NAME" -n "$KRATIX_OBJECT_NAMESPACE"`,
                ),
              ]),
            ],
          },
        },
      }),
    );
    const p = await waitForPromiseAvailable(api.promise);
    expect(p.status).toMatchObject({ ranIn: pipelines, canReadSelf: 'yes' });
    const core = testKubeConfig().makeApiClient(k8s.CoreV1Api);
    const sa = (await core.listNamespacedServiceAccount({ namespace: pipelines })).items.map(
      (s) => s.metadata!.name,
    );
    expect(sa).toContain(pipelineServiceAccountName(api.promise, 'promise', 'configure', 'setup'));

    const r = resources(api, ns);
    await r.create('one', {});
    const done = await r.waitFor('one', 'True');
    expect(done.status).toMatchObject({ ranIn: pipelines, canReadSelf: 'yes' });
    const saNow = (await core.listNamespacedServiceAccount({ namespace: pipelines })).items.map(
      (s) => s.metadata!.name,
    );
    expect(saNow).toContain(pipelineServiceAccountName(api.promise, 'resource', 'configure', 'render'));
    // Nothing of the pipeline's identity lands in the Resource's namespace but its read access.
    expect(
      (await core.listNamespacedServiceAccount({ namespace: ns })).items.map((s) => s.metadata!.name),
    ).not.toContain(pipelineServiceAccountName(api.promise, 'resource', 'configure', 'render'));

    // A value that cannot be a namespace: refused up front, with a message and an Event.
    const bad = uniqueApi('pnsbad');
    await applyPromise(
      promiseFor(bad, {
        workflows: {
          config: { pipelineNamespace: 'Not_A_Namespace' },
          promise: { configure: [shPipeline('setup', ['true'])] },
        },
      }),
    );
    const refused = await waitUntil('refused', async () => {
      const o = await getPromise(bad.promise);
      return condition(o, 'Available')?.reason === 'InvalidPromise' ? o : undefined;
    });
    expect(condition(refused, 'Available')?.message).toMatch(
      /pipelineNamespace "Not_A_Namespace" is not a valid namespace name/,
    );
    expect((await eventsFor('default', bad.promise)).some((e) => e.reason === 'InvalidPromise')).toBe(true);

    // A namespace that does not exist: the pipeline fails saying so (upstream needs it to exist).
    const missing = uniqueApi('pnsmiss');
    await applyPromise(
      promiseFor(missing, {
        workflows: {
          config: { pipelineNamespace: `missing-${missing.group.split('.')[0]}` },
          promise: { configure: [shPipeline('setup', ['true'])] },
        },
      }),
    );
    const failed = await waitUntil('failed', async () => {
      const o = await getPromise(missing.promise);
      return condition(o, 'PipelineCompleted')?.reason === 'PipelineFailed' ? o : undefined;
    });
    expect(condition(failed, 'PipelineCompleted')?.message).toMatch(/is not an existing namespace/);
    expect(
      (await eventsFor('default', missing.promise)).some(
        (e) => e.reason === 'PipelineFailed' && e.message?.includes('is not an existing namespace'),
      ),
    ).toBe(true);

    // The first Promise is unaffected.
    expect(condition(await getPromise(api.promise), 'Available')?.status).toBe('True');
  });
});
