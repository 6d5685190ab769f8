import { parse } from 'yaml';
import {
  pipelineEnv,
  pipelineIdentity,
  pipelineInputYaml,
  type PipelineSubject,
} from '../../src/core/pipeline-factory.js';
import type { Pipeline } from '../../src/core/types.js';

const subject: PipelineSubject = {
  promise: 'env',
  type: 'resource',
  action: 'configure',
  group: 'example.com',
  version: 'v1',
  kind: 'Env',
  plural: 'envs',
  name: 'dev',
  namespace: 'team-a',
};

const pipeline = (rbac: Pipeline['spec']['rbac']): Pipeline => ({
  metadata: { name: 'slack-notify' },
  spec: { containers: [{ name: 'c', image: 'i' }], rbac },
});

describe('pipelineEnv', () => {
  it('sets the Kratix and upstream env vars for a resource configure run', () => {
    expect(pipelineEnv(subject, 'slack-notify')).toEqual({
      KRATIX_WORKFLOW_ACTION: 'configure',
      KRATIX_OPERATION: 'configure',
      KRATIX_WORKFLOW_TYPE: 'resource',
      KRATIX_PROMISE_NAME: 'env',
      KRATIX_PIPELINE_NAME: 'slack-notify',
      KRATIX_OBJECT_KIND: 'Env',
      KRATIX_OBJECT_GROUP: 'example.com',
      KRATIX_OBJECT_VERSION: 'v1',
      KRATIX_OBJECT_NAME: 'dev',
      KRATIX_OBJECT_NAMESPACE: 'team-a',
      KRATIX_CRD_PLURAL: 'envs',
      KRATIX_CLUSTER_SCOPED: 'false',
    });
  });
});

describe('pipelineIdentity', () => {
  it('grants permissions without resourceNamespace through a Role in the pipeline namespace', () => {
    const id = pipelineIdentity(
      subject,
      pipeline({ permissions: [{ apiGroups: [''], verbs: ['*'], resources: ['secrets'] }] }),
    );
    expect(id.serviceAccount).toMatchObject({
      name: 'env-resource-configure-slack-notify',
      namespace: 'team-a',
    });
    expect(id.roles).toHaveLength(1);
    expect(id.roles[0]!.metadata.namespace).toBe('team-a');
    expect(id.roles[0]!.rules).toContainEqual({ apiGroups: [''], verbs: ['*'], resources: ['secrets'] });
    expect(id.roles[0]!.rules).toContainEqual({
      apiGroups: ['example.com'],
      resources: ['envs', 'envs/status'],
      verbs: ['get', 'list', 'watch'],
    });
    expect(id.roleBindings[0]!.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: id.roles[0]!.metadata.name,
    });
    expect(id.clusterRoles).toEqual([]);
    expect(id.clusterRoleBindings).toEqual([]);
  });

  it('binds a ClusterRole in the named namespace for resourceNamespace: X, cluster-wide for "*"', () => {
    const id = pipelineIdentity(
      subject,
      pipeline({
        permissions: [
          { apiGroups: [''], verbs: ['get'], resources: ['secrets'], resourceNamespace: 'vault' },
          { apiGroups: ['batch'], verbs: ['get', 'list'], resources: ['jobs'], resourceNamespace: '*' },
        ],
      }),
    );
    expect(id.clusterRoles).toHaveLength(2);
    const inVault = id.roleBindings.find((b) => b.metadata.namespace === 'vault')!;
    expect(inVault.roleRef.kind).toBe('ClusterRole');
    expect(id.clusterRoles.find((r) => r.metadata.name === inVault.roleRef.name)!.rules).toEqual([
      { apiGroups: [''], verbs: ['get'], resources: ['secrets'] },
    ]);
    expect(id.clusterRoleBindings).toHaveLength(1);
    expect(
      id.clusterRoles.find((r) => r.metadata.name === id.clusterRoleBindings[0]!.roleRef.name)!.rules,
    ).toEqual([{ apiGroups: ['batch'], verbs: ['get', 'list'], resources: ['jobs'] }]);
  });

  it('uses a custom ServiceAccount by name and marks it as not ours', () => {
    const id = pipelineIdentity(subject, pipeline({ serviceAccount: 'my-sa' }));
    expect(id.serviceAccount.name).toBe('my-sa');
    expect(id.customServiceAccount).toBe(true);
    expect(id.roleBindings[0]!.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'my-sa', namespace: 'team-a' },
    ]);
  });
});

describe('pipelineInputYaml (/kratix/input/object.yaml)', () => {
  it('is the object as kubectl get -o yaml shows it: everything but managedFields', () => {
    const yaml = pipelineInputYaml({
      apiVersion: 'example.kratix.io/v1',
      kind: 'Db',
      metadata: {
        name: 'mine',
        namespace: 'team-a',
        labels: { tier: 'gold' },
        managedFields: [{ manager: 'kubectl', operation: 'Update', fieldsV1: { 'f:spec': {} } }],
      },
      spec: { size: 3 },
    });
    const back = parse(yaml) as Record<string, unknown>;
    expect(back).toEqual({
      apiVersion: 'example.kratix.io/v1',
      kind: 'Db',
      metadata: { name: 'mine', namespace: 'team-a', labels: { tier: 'gold' } },
      spec: { size: 3 },
    });
    expect(yaml).not.toContain('managedFields');
  });
});
