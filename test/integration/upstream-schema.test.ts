// Issue 12 item 1: upstream Kratix manifests apply unchanged (strict field validation); fields
// not supported yet are accepted and reported (condition + Warning Event), never dropped silently.
import { createTestNamespace, kubectl } from '../support/cluster.js';
import { condition, eventsFor, getPromise, waitForPromiseAvailable, waitUntil } from '../support/promises.js';
import { createBareRepo } from '../support/git-server.js';
import { createGitStateStore, getClusterObject } from '../support/state-store.js';
import { crdYaml, image, kubectlApply, upstreamApi } from '../support/upstream.js';
import { mkdtempSync } from 'node:fs';
import path from 'node:path';

describe('upstream Kratix v1alpha1 manifests', () => {
  it('a Promise using every upstream Pipeline field applies strictly, runs, and names what it ignores', async () => {
    const api = upstreamApi('cache');
    const ns = await createTestNamespace('up-schema');
    const pipelines = await createTestNamespace('up-pipes');
    const manifest = `apiVersion: platform.kratix.io/v1alpha1
kind: Promise
metadata:
  name: ${api.promise}
  labels:
    kratix.io/promise-version: v0.1.0
spec:
  destinationSelectors:
    - matchLabels:
        environment: dev
  dependencies: []
  api:
${crdYaml(api, '    ')}
  workflows:
    config:
      pipelineNamespace: ${pipelines}
      reconciliationInterval: 1h
    resource:
      configure:
        - apiVersion: platform.kratix.io/v1alpha1
          kind: Pipeline
          metadata:
            name: instance
            labels: { team: platform }
            annotations: { note: upstream }
            generateName: ignored-
          spec:
            rbac:
              serviceAccount: ""
              permissions:
                - apiGroups: [""]
                  verbs: ["get"]
                  resources: ["configmaps"]
                  resourceNames: ["settings"]
                - nonResourceURLs: ["/healthz"]
                  verbs: ["get"]
                  resourceNamespace: "*"
            jobOptions:
              backoffLimit: 1
            restartPolicy: OnFailure
            nodeSelector:
              kubernetes.io/os: linux
            tolerations:
              - key: dedicated
                operator: Equal
                value: pipelines
                effect: NoSchedule
            imagePullSecrets:
              - name: registry
            volumes:
              - name: scratch
                emptyDir: {}
            containers:
              - name: render
                image: ${image()}
                imagePullPolicy: IfNotPresent
                command: ["sh", "-ec"]
                args:
                  - |
                    printf 'ready: "yes"\\n' > /kratix/metadata/status.yaml
                env:
                  - name: GREETING
                    value: hello
                envFrom: []
                volumeMounts:
                  - name: scratch
                    mountPath: /scratch
                securityContext:
                  runAsNonRoot: true
                  allowPrivilegeEscalation: false
                resources:
                  requests: { cpu: 100m, memory: 64Mi }
                  limits: { cpu: "1", memory: 128Mi }
      delete: []
    promise:
      configure: []
      delete: []
`;
    const applied = await kubectlApply(manifest);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);

    const promise = await waitForPromiseAvailable(api.promise).catch(async (err: Error) => {
      throw new Error(`${err.message}; status: ${JSON.stringify((await getPromise(api.promise)).status)}`);
    });
    const unsupported = condition(promise, 'UnsupportedFields');
    expect(unsupported).toMatchObject({ status: 'True', reason: 'FieldsNotSupported' });
    expect(unsupported?.message).toContain('spec.workflows.resource.configure[0].metadata.generateName');
    expect(unsupported?.message).toContain(
      'spec.workflows.resource.configure[0].spec.rbac.permissions[1].nonResourceURLs',
    );
    const events = await eventsFor('default', api.promise);
    expect(events.find((e) => e.reason === 'UnsupportedFields')).toMatchObject({
      type: 'Warning',
      message: unsupported?.message,
    });

    // The rest works: a Resource in upstream's shape runs to completion.
    const resource = `apiVersion: ${api.group}/v1alpha1
kind: ${api.kind}
metadata:
  name: example
  namespace: ${ns}
spec:
  size: small
`;
    expect((await kubectlApply(resource)).code).toBe(0);
    const wait = await kubectl([
      'wait',
      `${api.plural}.${api.group}/example`,
      '-n',
      ns,
      '--for=condition=ConfigureWorkflowCompleted',
      '--timeout=120s',
    ]);
    expect(wait.stderr).toBe('');
    expect(wait.code).toBe(0);

    // Dropping the fields clears the report.
    const patched = await kubectl([
      'patch',
      'promise',
      api.promise,
      '--type=json',
      '-p',
      JSON.stringify([
        { op: 'remove', path: '/spec/workflows/resource/configure/0/metadata/generateName' },
        { op: 'remove', path: '/spec/workflows/resource/configure/0/spec/rbac/permissions/1' },
      ]),
    ]);
    expect(patched.code).toBe(0);
    await waitUntil(
      'UnsupportedFields cleared',
      async () => condition(await getPromise(api.promise), 'UnsupportedFields')?.status === 'False',
    );
  });

  it('a Destination in upstream shape applies strictly; initWorkloads is reported', async () => {
    const id = upstreamApi('d').id;
    const bare = createBareRepo(
      mkdtempSync(path.join(process.env.KRATIX_TEST_DIR!, 'up-dest-')),
      'state.git',
    );
    await createGitStateStore(`up-store-${id}`, { url: `file://${bare}` });
    const applied = await kubectlApply(`apiVersion: platform.kratix.io/v1alpha1
kind: Destination
metadata:
  name: up-dest-${id}
  labels:
    environment: up-${id}
spec:
  path: up-${id}
  strictMatchLabels: true
  filepath:
    mode: nestedByMetadata
  cleanup: none
  initWorkloads:
    enabled: true
  stateStoreRef:
    kind: GitStateStore
    name: up-store-${id}
`);
    expect(applied.stderr).not.toMatch(/unknown field|Warning/);
    expect(applied.code).toBe(0);
    // Ready may follow a moment later (its state store was created just before).
    const d = await waitUntil('destination reports initWorkloads and is Ready', async () => {
      const o = await getClusterObject('destinations', `up-dest-${id}`);
      return condition(o, 'UnsupportedFields')?.status === 'True' && condition(o, 'Ready')?.status === 'True'
        ? o
        : undefined;
    });
    expect(condition(d, 'UnsupportedFields')?.message).toContain('spec.initWorkloads.enabled');
    await waitUntil('UnsupportedFields event', async () =>
      (await eventsFor('default', `up-dest-${id}`)).some(
        (e) =>
          e.reason === 'UnsupportedFields' && e.type === 'Warning' && e.message?.includes('initWorkloads'),
      ),
    );

    // A bad value is refused by the API server with a message naming the field.
    const bad = await kubectlApply(`apiVersion: platform.kratix.io/v1alpha1
kind: Destination
metadata:
  name: up-bad-${id}
spec:
  filepath:
    mode: flat
  stateStoreRef:
    kind: GitStateStore
    name: up-store-${id}
`);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/spec\.filepath\.mode.*Unsupported value: "flat"/);
  });
});
