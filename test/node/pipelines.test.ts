import { Connection, Client } from '@temporalio/client';
import { resourceWorkflowId, configureRunId } from '../../src/core/names.js';
import { createTestNamespace, kubectl } from '../support/cluster.js';
import {
  applyPromise,
  eventsFor,
  promiseFor,
  resources,
  shPipeline,
  uniqueApi,
  waitForPromiseAvailable,
} from '../support/promises.js';
import { checkout, filesUnder } from '../support/state-store.js';
import { core, pipelinePods, privateDestination } from './support.js';

describe('kubernetes executor: pipelines as Pods on a real node', () => {
  it('runs two configure pipelines as Pods in order: status merged, the second sees the first in object.yaml', async () => {
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
message: User created
EOF`,
              ]),
              shPipeline('populate-vault', {
                check: `seen=$(grep -c 'user: admin' /kratix/input/object.yaml)
echo "seen: $seen" > /kratix/metadata/seen`,
                write: `cat > /kratix/metadata/status.yaml <<EOF
message: User created and vault secret created
iam:
  password: vault-ref
  userSeenInObjectYaml: $(sed 's/seen: //' /kratix/metadata/seen)
uid: "$(id -u)"
EOF`,
              }),
            ],
          },
        },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('iam');
    const rs = resources(api, ns);
    await rs.create('example', {});
    const done = await rs.waitFor('example', 'True');
    expect(done.status).toMatchObject({
      iam: { user: 'admin', password: 'vault-ref', userSeenInObjectYaml: 1 },
      message: 'User created and vault secret created',
    });

    // One Pod per pipeline run, listed by upstream's labels, annotated with the run's workflow id.
    const got = await kubectl([
      'get',
      'pods',
      '-n',
      ns,
      '-l',
      `kratix.io/promise-name=${api.promise}`,
      '-L',
      'kratix.io/pipeline-name',
    ]);
    expect(got.code).toBe(0);
    expect(got.stdout).toMatch(
      /kratix-iam-.*-example-create-user-[0-9a-f]{8}\s+0\/1\s+Completed\s+0\s+\S+\s+create-user/,
    );
    expect(got.stdout).toMatch(
      /kratix-iam-.*-example-populate-vault-[0-9a-f]{8}\s+0\/1\s+Completed\s+0\s+\S+\s+populate-vault/,
    );
    const pods = await pipelinePods(ns, api.promise);
    expect(pods).toHaveLength(2);
    const runId = configureRunId(
      resourceWorkflowId({ promise: api.promise, namespace: ns, name: 'example', uid: done.metadata.uid! }),
      1,
    );
    for (const pod of pods) {
      expect(pod.status?.phase).toBe('Succeeded');
      expect(pod.metadata?.labels).toMatchObject({
        'kratix.io/workflow-type': 'resource',
        'kratix.io/workflow-action': 'configure',
        'kratix.io/resource-name': 'example',
        'kratix.io/resource-namespace': ns,
      });
      expect(pod.metadata?.annotations?.['kratix-temporal.io/workflow-id']).toBe(runId);
      // Our helpers first and last, restricted; the user containers in between, in order.
      expect(pod.spec?.initContainers?.[0]).toMatchObject({
        name: 'kratix-input',
        securityContext: {
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
        },
      });
      expect(pod.spec?.containers.map((c) => c.name)).toEqual(['kratix-collect']);
      expect(pod.spec?.serviceAccountName).toMatch(/^iam-.*-resource-configure-/);
    }
    expect(pods[1]!.spec?.initContainers?.map((c) => c.name)).toEqual(['kratix-input', 'check', 'write']);
  });

  it('leaves env, secretKeyRef, envFrom and volumes to the kubelet, and runs an image entrypoint', async () => {
    const api = uniqueApi('envs');
    const ns = await createTestNamespace('envs');
    await core().createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'creds' }, stringData: { password: 'hunter2-secret' } },
    });
    await core().createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'bulk' }, stringData: { REGION: 'eu-1' } },
    });
    await core().createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'cfg' }, data: { 'size.txt': 'large' } },
    });
    const pipeline = shPipeline(
      'envs',
      {
        read: `cat > /kratix/metadata/status.yaml <<EOF
plain: $PLAIN
passwordMatches: $([ "$PASSWORD" = hunter2-secret ] && echo yes || echo no)
fromEnvFrom: $CFG_REGION
fromVolume: $(cat /config/size.txt)
EOF`,
      },
      { volumes: [{ name: 'config', configMap: { name: 'cfg' } }] },
    );
    const c = pipeline.spec.containers[0]!;
    c.env = [
      { name: 'PLAIN', value: 'hello' },
      { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
    ];
    c.envFrom = [{ prefix: 'CFG_', secretRef: { name: 'bulk' } }];
    c.volumeMounts = [{ name: 'config', mountPath: '/config' }];
    const entry = {
      apiVersion: 'platform.kratix.io/v1alpha1',
      kind: 'Pipeline',
      metadata: { name: 'entry' },
      spec: {
        containers: [
          {
            name: 'from-image',
            image: process.env.KRATIX_NODE_TEST_ENTRYPOINT_IMAGE!,
            env: [{ name: 'GREETING', value: 'hi' }],
          },
        ],
      },
    };
    await applyPromise(promiseFor(api, { workflows: { resource: { configure: [pipeline, entry] } } }));
    await waitForPromiseAvailable(api.promise);
    const rs = resources(api, ns);
    await rs.create('one', {});
    const done = await rs.waitFor('one', 'True');
    expect(done.status).toMatchObject({
      plain: 'hello',
      passwordMatches: 'yes',
      fromEnvFrom: 'eu-1',
      fromVolume: 'large',
      fromEntrypoint: 'entry',
      greeting: 'hi',
    });

    // The secret value was resolved by the kubelet: it is in no Temporal payload.
    const connection = await Connection.connect({ address: process.env.KRATIX_TEST_TEMPORAL_ADDRESS! });
    try {
      const client = new Client({ connection });
      const parent = resourceWorkflowId({
        promise: api.promise,
        namespace: ns,
        name: 'one',
        uid: done.metadata.uid!,
      });
      const history = await client.workflow.getHandle(parent).fetchHistory();
      // Payloads decoded: what a person opening the lifecycle (its runs inside) in the Web UI sees.
      const text = JSON.stringify(history, (k, v: unknown) =>
        k === 'data' && typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : v,
      );
      // Decoded payloads read as JSON text (a quoted field of the workflow input), so a secret in
      // any payload would show here.
      expect(text).toContain(`\\"promise\\":\\"${api.promise}\\"`);
      expect(text).toContain('runPipeline');
      expect(text).not.toContain('hunter2');
    } finally {
      await connection.close();
    }
  });

  it("gives in-pod kubectl exactly the pipeline's RBAC", async () => {
    const api = uniqueApi('rbac');
    const ns = await createTestNamespace('rbac');
    await core().createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'target' }, data: { a: 'b' } },
    });
    await applyPromise(
      promiseFor(api, {
        workflows: {
          resource: {
            configure: [
              shPipeline(
                'probe',
                [
                  `got=$(kubectl get configmap target -n "$KRATIX_OBJECT_NAMESPACE" -o jsonpath='{.data.a}')
if kubectl delete configmap target -n "$KRATIX_OBJECT_NAMESPACE" 2>/tmp/err; then deleted=yes; else deleted=no; fi
forbidden=$(grep -c Forbidden /tmp/err || true)
printf 'got: %s\\ndeleted: %s\\nforbidden: "%s"\\n' "$got" "$deleted" "$forbidden" > /kratix/metadata/status.yaml`,
                ],
                { rbac: { permissions: [{ apiGroups: [''], verbs: ['get'], resources: ['configmaps'] }] } },
              ),
            ],
          },
        },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const rs = resources(api, ns);
    await rs.create('probe', {});
    const done = await rs.waitFor('probe', 'True');
    expect(done.status).toMatchObject({ got: 'b', deleted: 'no', forbidden: '1' });
    await core().readNamespacedConfigMap({ name: 'target', namespace: ns });
  });

  it('runs the delete pipeline as a Pod and removes the output files from the state store', async () => {
    const api = uniqueApi('gone');
    const bare = await privateDestination(api.promise);
    const ns = await createTestNamespace('gone');
    await applyPromise(
      promiseFor(api, {
        destinationSelectors: [{ matchLabels: { dest: api.promise } }],
        workflows: {
          resource: {
            configure: [
              shPipeline('render', [
                `printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: %s\\n' "$KRATIX_OBJECT_NAME" > /kratix/output/cm.yaml`,
              ]),
            ],
            delete: [
              shPipeline(
                'cleanup',
                [
                  `kubectl create configmap "deleted-$KRATIX_OBJECT_NAME" -n "$KRATIX_OBJECT_NAMESPACE" --from-literal=action="$KRATIX_WORKFLOW_ACTION"`,
                ],
                {
                  rbac: { permissions: [{ apiGroups: [''], verbs: ['create'], resources: ['configmaps'] }] },
                },
              ),
            ],
          },
        },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const rs = resources(api, ns);
    await rs.create('app', {});
    await rs.waitFor('app', 'True');
    const dir = `dest-${api.promise}/resources/${ns}/${api.promise}/app/render`;
    expect(filesUnder(checkout(bare), dir)).toEqual(['cm.yaml']);

    await rs.delete('app');
    await rs.waitGone('app');
    const cm = await core().readNamespacedConfigMap({ name: 'deleted-app', namespace: ns });
    expect(cm.data).toEqual({ action: 'delete' });
    expect(filesUnder(checkout(bare), dir)).toEqual([]);
    const deletePods = await pipelinePods(ns, api.promise, 'kratix.io/workflow-action=delete');
    expect(deletePods.map((p) => p.status?.phase)).toEqual(['Succeeded']);
    const reasons = (await eventsFor(ns, 'app')).map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['PipelineStarted', 'PipelineSucceeded']));
  });
});
