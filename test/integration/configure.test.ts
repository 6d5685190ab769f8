import { createTestNamespace, kubectl } from '../support/cluster.js';
import {
  applyPromise,
  condition,
  eventsFor,
  promiseFor,
  resources,
  shPipeline,
  uniqueApi,
  waitForPromiseAvailable,
} from '../support/promises.js';

describe('resource configure workflow (local executor)', () => {
  it("runs seed 004's two iam pipelines in order and deep-merges their status", async () => {
    const api = uniqueApi('iam');
    await applyPromise(
      promiseFor(api, {
        workflows: {
          resource: {
            configure: [
              shPipeline('create-user', [
                `cat > /kratix/metadata/status.yaml <<EOF
iam:
  user: admin
message: User created, next step is to create vault secret for user
EOF`,
              ]),
              shPipeline('populate-vault', [
                // Proves the second pipeline sees the first one's status in object.yaml.
                `seen=$(grep -c 'user: admin' /kratix/input/object.yaml)
cat > /kratix/metadata/status.yaml <<EOF
message: User created and vault secret created
iam:
  password: vault-ref
  userSeenInObjectYaml: $seen
EOF`,
              ]),
            ],
          },
        },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('iam');
    const rs = resources(api, ns);
    await rs.create('example', { size: 1 });
    const done = await rs.waitFor('example', 'True');

    expect(done.status).toMatchObject({
      iam: { user: 'admin', password: 'vault-ref', userSeenInObjectYaml: 1 },
      message: 'User created and vault secret created',
      observedGeneration: 1,
    });
    expect(condition(done, 'PipelineCompleted')).toMatchObject({
      status: 'True',
      reason: 'PipelineExecutedSuccessfully',
      message: 'Pipeline completed',
    });
    expect(done.status?.lastSuccessfulConfigureWorkflowTime).toEqual(expect.any(String));
    expect((done.status?.kratix as { workflows: { pipelines: unknown[] } }).workflows.pipelines).toEqual([
      expect.objectContaining({ name: 'create-user', phase: 'Succeeded' }),
      expect.objectContaining({ name: 'populate-vault', phase: 'Succeeded' }),
    ]);

    const wait = await kubectl([
      'wait',
      `${api.plural}.${api.group}/example`,
      '-n',
      ns,
      '--for=condition=PipelineCompleted',
      '--timeout=60s',
    ]);
    expect(wait.code).toBe(0);
    const get = await kubectl(['get', `${api.plural}.${api.group}`, '-n', ns]);
    expect(get.stdout).toMatch(/NAME\s+STATUS\s+AGE/);
    expect(get.stdout).toMatch(/example\s+User created and vault secret created/);

    const reasons = (await eventsFor(ns, 'example')).map((e) => e.reason);
    expect(reasons).toEqual(
      expect.arrayContaining(['PipelineStarted', 'PipelineSucceeded', 'ConfigureWorkflowCompleted']),
    );
  });

  it('gives containers the Kratix environment of a resource configure run', async () => {
    const api = uniqueApi('envcheck');
    await applyPromise(
      promiseFor(api, {
        workflows: {
          resource: {
            configure: [
              shPipeline('dump-env', [
                `{ echo "env:"; env | grep '^KRATIX_' | sort | sed 's/^\\([^=]*\\)=\\(.*\\)$/  \\1: "\\2"/'; } > /kratix/metadata/status.yaml
ls /kratix > /tmp/ls && echo "  KRATIX_DIRS: \\"$(tr '\\n' ' ' < /tmp/ls)\\"" >> /kratix/metadata/status.yaml`,
              ]),
            ],
          },
        },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('env');
    const rs = resources(api, ns);
    await rs.create('probe', {});
    const done = await rs.waitFor('probe', 'True');
    expect(done.status?.env).toEqual({
      KRATIX_WORKFLOW_ACTION: 'configure',
      KRATIX_OPERATION: 'configure',
      KRATIX_WORKFLOW_TYPE: 'resource',
      KRATIX_PROMISE_NAME: api.promise,
      KRATIX_PIPELINE_NAME: 'dump-env',
      KRATIX_OBJECT_KIND: api.kind,
      KRATIX_OBJECT_GROUP: api.group,
      KRATIX_OBJECT_VERSION: 'v1',
      KRATIX_OBJECT_NAME: 'probe',
      KRATIX_OBJECT_NAMESPACE: ns,
      KRATIX_CRD_PLURAL: api.plural,
      KRATIX_CLUSTER_SCOPED: 'false',
      KRATIX_DIRS: 'input metadata output ',
      // The test run traces (a real OTLP receiver): the pipeline's span, as upstream passes it.
      KRATIX_TRACE_PARENT: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/),
    });
  });
});
