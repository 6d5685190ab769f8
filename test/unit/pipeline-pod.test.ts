import type { V1Pod } from '@kubernetes/client-node';
import {
  buildPipelinePod,
  buildResultAccess,
  pipelinePodName,
  podState,
  RESTRICTED_SECURITY_CONTEXT,
} from '../../src/core/pipeline-pod.js';
import type { PipelineSubject } from '../../src/core/pipeline-factory.js';
import { pipelineSettings } from '../../src/core/pipeline-settings.js';
import type { Pipeline } from '../../src/core/types.js';

const subject: PipelineSubject = {
  promise: 'redis',
  type: 'resource',
  action: 'configure',
  group: 'example.com',
  version: 'v1',
  kind: 'Redis',
  plural: 'redises',
  name: 'example',
  namespace: 'team-a',
};
const pipeline: Pipeline = {
  metadata: { name: 'instance', labels: { team: 'a' }, annotations: { note: 'x' } },
  spec: {
    containers: [
      {
        name: 'one',
        image: 'ghcr.io/acme/one:1',
        env: [
          { name: 'PLAIN', value: 'v' },
          { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
          { name: 'KRATIX_PROMISE_NAME', value: 'forged' },
        ],
        envFrom: [{ secretRef: { name: 'all' } }],
        volumeMounts: [{ name: 'cfg', mountPath: '/cfg' }],
      },
      {
        name: 'two',
        image: 'ghcr.io/acme/two:1',
        command: ['sh'],
        args: ['-c', 'true'],
        securityContext: { runAsUser: 1000 },
      },
    ],
    volumes: [{ name: 'cfg', configMap: { name: 'cfg' } }],
    imagePullSecrets: [{ name: 'regcred' }],
  },
};
const settings = {
  helperImage: 'helper:1',
  resultLimitBytes: 1000,
  defaultContainerSecurityContext: { runAsNonRoot: true },
  defaultImagePullPolicy: 'IfNotPresent',
};
const build = (extra: Partial<Parameters<typeof buildPipelinePod>[0]> = {}) =>
  buildPipelinePod({
    subject,
    pipeline,
    namespace: 'team-a',
    serviceAccount: 'redis-resource-configure-instance',
    runKey: 'resource/redis/team-a/example/uid/configure/1/0-instance',
    workflowId: 'resource/redis/team-a/example/uid/configure/1',
    baseEnv: { KRATIX_PROMISE_NAME: 'redis', KRATIX_WORKFLOW_ACTION: 'configure' },
    withMetadata: true,
    settings,
    ...extra,
  });

describe('pipelinePodName', () => {
  it('is readable, deterministic per run, different per run, and a valid 63-character name', () => {
    const a = pipelinePodName(subject, 'instance', 'run-1');
    expect(a).toMatch(/^kratix-redis-example-instance-[0-9a-f]{8}$/);
    expect(pipelinePodName(subject, 'instance', 'run-1')).toBe(a);
    expect(pipelinePodName(subject, 'instance', 'run-2')).not.toBe(a);
    expect(pipelinePodName(subject, 'instance', 'run-1', 2)).toBe(`${a}-r2`);
    const long = pipelinePodName({ ...subject, name: 'x'.repeat(253) }, 'p'.repeat(60), 'run');
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });
});

describe('buildPipelinePod', () => {
  const pod = build();
  const inits = pod.spec!.initContainers!;

  it('runs our input helper first, the user containers in order, then our collector', () => {
    expect(inits.map((c) => c.name)).toEqual(['kratix-input', 'one', 'two']);
    expect(pod.spec!.containers.map((c) => c.name)).toEqual(['kratix-collect']);
    expect(pod.spec!.restartPolicy).toBe('Never');
    expect(pod.spec!.serviceAccountName).toBe('redis-resource-configure-instance');
  });

  it('leaves env and envFrom to the kubelet and puts KRATIX_* last so they cannot be faked', () => {
    const env = inits[1]!.env!;
    expect(env.find((e) => e.name === 'PASSWORD')?.valueFrom?.secretKeyRef).toEqual({ name: 's', key: 'k' });
    expect(env.filter((e) => e.name === 'KRATIX_PROMISE_NAME')).toEqual([
      { name: 'KRATIX_PROMISE_NAME', value: 'redis' },
    ]);
    expect(inits[1]!.envFrom).toEqual([{ secretRef: { name: 'all' } }]);
  });

  it('hands every container, helpers too, the trace parent when traced (upstream KRATIX_TRACE_PARENT)', () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const traced = build({ traceEnv: { KRATIX_TRACE_PARENT: traceparent } });
    const all = [...traced.spec!.initContainers!, ...traced.spec!.containers];
    for (const c of all)
      expect({ container: c.name, env: c.env!.filter((e) => e.name === 'KRATIX_TRACE_PARENT') }).toEqual({
        container: c.name,
        env: [{ name: 'KRATIX_TRACE_PARENT', value: traceparent }],
      });
    // Untraced: no variable at all, and the Pod is as before.
    expect(all.length).toBe(4);
    expect([...inits, ...pod.spec!.containers].flatMap((c) => c.env ?? []).map((e) => e.name)).not.toContain(
      'KRATIX_TRACE_PARENT',
    );
  });

  it('uses the image entrypoint when command is absent and keeps command/args when given', () => {
    expect(inits[1]!.command).toBeUndefined();
    expect(inits[2]!.command).toEqual(['sh']);
    expect(inits[2]!.args).toEqual(['-c', 'true']);
  });

  it('mounts /kratix/{input,output,metadata} and the pipeline volumes; pull secrets kept', () => {
    expect(inits[1]!.volumeMounts!.map((m) => m.mountPath)).toEqual([
      '/cfg',
      '/kratix/input',
      '/kratix/output',
      '/kratix/metadata',
    ]);
    expect(pod.spec!.volumes!.map((v) => v.name)).toEqual([
      'kratix-input',
      'kratix-output',
      'kratix-metadata',
      'kratix-run',
      'cfg',
    ]);
    expect(pod.spec!.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    const noMeta = build({ withMetadata: false });
    expect(noMeta.spec!.volumes!.some((v) => v.name === 'kratix-metadata')).toBe(false);
  });

  it('applies ConfigMap defaults only where the container sets nothing; helpers always restricted', () => {
    expect(inits[1]!.securityContext).toEqual({ runAsNonRoot: true });
    expect(inits[2]!.securityContext).toEqual({ runAsUser: 1000 });
    expect(inits[1]!.imagePullPolicy).toBe('IfNotPresent');
    for (const c of [inits[0]!, pod.spec!.containers[0]!]) {
      expect(c.securityContext).toEqual(RESTRICTED_SECURITY_CONTEXT);
      expect(c.image).toBe('helper:1');
    }
  });

  it('labels as upstream, plus the workflow id annotation and the Pipeline metadata', () => {
    expect(pod.metadata!.labels).toMatchObject({
      'kratix.io/promise-name': 'redis',
      'kratix.io/pipeline-name': 'instance',
      'kratix.io/workflow-type': 'resource',
      'kratix.io/workflow-action': 'configure',
      'kratix.io/resource-name': 'example',
      'kratix.io/resource-namespace': 'team-a',
      team: 'a',
    });
    expect(pod.metadata!.annotations).toMatchObject({
      'kratix-temporal.io/workflow-id': 'resource/redis/team-a/example/uid/configure/1',
      note: 'x',
    });
  });

  it('honours restartPolicy OnFailure, nodeSelector and tolerations', () => {
    const p = build({
      pipeline: {
        ...pipeline,
        spec: {
          ...pipeline.spec,
          restartPolicy: 'OnFailure',
          nodeSelector: { disk: 'ssd' },
          tolerations: [{ key: 'k', operator: 'Exists' }],
        } as Pipeline['spec'],
      },
    });
    expect(p.spec!.restartPolicy).toBe('OnFailure');
    expect(p.spec!.nodeSelector).toEqual({ disk: 'ssd' });
    expect(p.spec!.tolerations).toEqual([{ key: 'k', operator: 'Exists' }]);
  });

  it('grants the Pod write access to its own run Secret only', () => {
    const { role, binding } = buildResultAccess({ ...pod, metadata: { ...pod.metadata, uid: 'u1' } });
    expect(role.rules).toEqual([
      {
        apiGroups: [''],
        resources: ['secrets'],
        resourceNames: [pod.metadata!.name],
        verbs: ['get', 'patch'],
      },
    ]);
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'redis-resource-configure-instance', namespace: 'team-a' },
    ]);
    expect(role.metadata!.ownerReferences![0]).toMatchObject({ kind: 'Pod', uid: 'u1' });
  });
});

describe('podState', () => {
  const users = ['one', 'two'];
  const withStatus = (status: V1Pod['status']): V1Pod => ({ status });

  it('reports the running user container', () => {
    expect(
      podState(
        withStatus({
          phase: 'Pending',
          initContainerStatuses: [
            {
              name: 'kratix-input',
              image: 'h',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: { terminated: { exitCode: 0 } },
            },
            { name: 'one', image: 'i', imageID: '', ready: false, restartCount: 0, state: { running: {} } },
          ],
        }),
        users,
      ),
    ).toEqual({ kind: 'running', container: 'one', index: 0 });
  });

  it('names a missing image, a missing Secret and unschedulable Pods; ErrImageNeverPull is fatal', () => {
    const waiting = (reason: string) =>
      podState(
        withStatus({
          phase: 'Pending',
          initContainerStatuses: [
            {
              name: 'one',
              image: 'nope:1',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: { waiting: { reason, message: 'detail' } },
            },
          ],
        }),
        users,
      );
    expect(waiting('ImagePullBackOff')).toEqual({
      kind: 'pending',
      reason: 'ImagePullBackOff',
      message: 'container "one" (nope:1): ImagePullBackOff: detail',
      fatal: false,
    });
    expect(waiting('ErrImageNeverPull')).toMatchObject({ fatal: true });
    expect(waiting('CreateContainerConfigError')).toMatchObject({
      kind: 'pending',
      reason: 'CreateContainerConfigError',
    });
    expect(waiting('PodInitializing')).toEqual({ kind: 'running', container: 'one', index: 0 });
    expect(
      podState(
        withStatus({
          phase: 'Pending',
          conditions: [
            {
              type: 'PodScheduled',
              status: 'False',
              reason: 'Unschedulable',
              message: '0/1 nodes are available',
            },
          ],
        }),
        users,
      ),
    ).toMatchObject({
      kind: 'pending',
      reason: 'Unschedulable',
      message: 'Pod cannot be scheduled: 0/1 nodes are available',
    });
  });

  it('names the failed container and its exit code', () => {
    expect(
      podState(
        withStatus({
          phase: 'Failed',
          initContainerStatuses: [
            {
              name: 'kratix-input',
              image: 'h',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: { terminated: { exitCode: 0 } },
            },
            {
              name: 'one',
              image: 'i',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: { terminated: { exitCode: 3, reason: 'Error' } },
            },
          ],
        }),
        users,
      ),
    ).toMatchObject({ kind: 'failed', container: 'one', index: 0, exitCode: 3 });
  });

  it('fails an OnFailure Pod once restarts exceed backoffLimit', () => {
    const pod = withStatus({
      phase: 'Pending',
      initContainerStatuses: [
        {
          name: 'two',
          image: 'i',
          imageID: '',
          ready: false,
          restartCount: 2,
          state: { waiting: { reason: 'CrashLoopBackOff' } },
          lastState: { terminated: { exitCode: 1 } },
        },
      ],
    });
    expect(podState(pod, users, 2).kind).toBe('running');
    expect(podState(pod, users, 1)).toMatchObject({
      kind: 'failed',
      container: 'two',
      index: 1,
      exitCode: 1,
      restarts: 2,
    });
  });
});

describe('pipelineSettings', () => {
  it('prefers the Pipeline, then the kratix ConfigMap, then defaults', () => {
    expect(pipelineSettings({}, pipeline)).toEqual({
      backoffLimit: 0,
      pendingTimeoutMs: 300_000,
      podsToKeep: 5,
      resultLimitBytes: 921_600,
      timeoutMs: 3_600_000,
    });
    const config = {
      numberOfJobsToKeep: 2,
      workflows: {
        jobOptions: { defaultBackoffLimit: 3 },
        pipelinePendingTimeout: '30s',
        resultLimitBytes: 5_000_000,
        defaultImagePullPolicy: 'Never',
      },
    };
    expect(pipelineSettings(config, pipeline)).toMatchObject({
      backoffLimit: 3,
      pendingTimeoutMs: 30_000,
      podsToKeep: 2,
      resultLimitBytes: 1_024_000,
      defaultImagePullPolicy: 'Never',
    });
    const own = { ...pipeline, spec: { ...pipeline.spec, jobOptions: { backoffLimit: 1 } } } as Pipeline;
    expect(pipelineSettings(config, own).backoffLimit).toBe(1);
    expect(pipelineSettings({ numberOfJobsToKeep: 0 }, pipeline).podsToKeep).toBe(5);
  });

  it('takes the pipeline timeout from the Pipeline annotation, the Promise, the ConfigMap, capped', () => {
    const config = { workflows: { pipelineTimeout: '30m' } };
    const promise = {
      apiVersion: 'v',
      kind: 'Promise',
      metadata: { name: 'p' },
      spec: { workflows: { config: { pipelineTimeout: '10m' } } },
    };
    expect(pipelineSettings(config, pipeline).timeoutMs).toBe(1_800_000);
    expect(pipelineSettings(config, pipeline, promise).timeoutMs).toBe(600_000);
    const annotated = {
      ...pipeline,
      metadata: { ...pipeline.metadata, annotations: { 'kratix-temporal.io/timeout': '90s' } },
    };
    expect(pipelineSettings(config, annotated, promise).timeoutMs).toBe(90_000);
    expect(pipelineSettings({ workflows: { pipelineTimeout: '5h' } }, pipeline).timeoutMs).toBe(110 * 60_000);
  });
});
