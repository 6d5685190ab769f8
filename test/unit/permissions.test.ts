import {
  permissionRuleProblems,
  pipelinePermissionDenials,
  promisePermissionDenials,
} from '../../src/core/permissions.js';
import { validatePromise } from '../../src/core/validation.js';
import type { KratixPromise, Pipeline, PipelinePermission } from '../../src/core/types.js';

const pipeline = (permissions: unknown[]): Pipeline => ({
  apiVersion: 'platform.kratix.io/v1alpha1',
  kind: 'Pipeline',
  metadata: { name: 'p' },
  spec: {
    containers: [{ name: 'c', image: 'i' }],
    rbac: { permissions: permissions as PipelinePermission[] },
  },
});
const promise = (permissions: unknown[]): KratixPromise => ({
  apiVersion: 'platform.kratix.io/v1alpha1',
  kind: 'Promise',
  metadata: { name: 'x' },
  spec: { workflows: { resource: { configure: [pipeline(permissions)] } } },
});

describe('permission rules the API server would reject', () => {
  it('empty verbs or resources, empty apiGroups, a bad resourceNamespace', () => {
    expect(
      permissionRuleProblems(
        pipeline([
          { verbs: [], resources: ['configmaps'] },
          { verbs: ['get'] },
          { verbs: ['get'], resources: ['pods'], apiGroups: [] },
          { verbs: ['get'], resources: ['pods'], resourceNamespace: 'Not_A_Namespace' },
          'get everything',
        ]),
        'w',
      ),
    ).toEqual([
      'w (p) rbac.permissions[0]: verbs must list at least one verb',
      'w (p) rbac.permissions[1]: resources must list at least one resource',
      'w (p) rbac.permissions[2]: apiGroups must list at least one group ("" is the core group) or be left out',
      'w (p) rbac.permissions[3]: resourceNamespace must be a namespace name or "*", got "Not_A_Namespace"',
      'w (p) rbac.permissions[4] must be a map with verbs and resources',
    ]);
  });

  it('validatePromise reports them', () => {
    expect(validatePromise(promise([{ verbs: [], resources: ['pods'] }]))).toEqual([
      'spec.workflows.resource.configure[0] (p) rbac.permissions[0]: verbs must list at least one verb',
    ]);
    expect(
      validatePromise(
        promise([{ apiGroups: ['apps'], verbs: ['*'], resources: ['*'], resourceNamespace: '*' }]),
      ),
    ).toEqual([]);
  });
});

describe('pipelinePermissions policy', () => {
  const wide = [{ apiGroups: ['apps'], verbs: ['*'], resources: ['deployments'], resourceNamespace: '*' }];

  it('no policy, or an empty one, allows anything (the default, as upstream)', () => {
    expect(pipelinePermissionDenials(pipeline(wide), undefined)).toEqual([]);
    expect(pipelinePermissionDenials(pipeline(wide), {})).toEqual([]);
  });

  it('names every group, resource, verb and scope beyond the policy', () => {
    expect(
      pipelinePermissionDenials(pipeline(wide), {
        allowedApiGroups: [''],
        allowedResources: ['configmaps'],
        allowedVerbs: ['get', 'list'],
        allowClusterWide: false,
      }),
    ).toEqual([
      'pipeline "p" rbac.permissions[0]: API group(s) "apps" not allowed',
      'pipeline "p" rbac.permissions[0]: resource(s) "deployments" not allowed',
      'pipeline "p" rbac.permissions[0]: verb(s) "*" not allowed',
      'pipeline "p" rbac.permissions[0]: cluster-wide permissions (resourceNamespace "*") not allowed',
    ]);
  });

  it('a rule without apiGroups is the core group; "*" in a list allows anything', () => {
    const core = pipeline([{ verbs: ['get'], resources: ['pods/log'], resourceNamespace: 'team-a' }]);
    expect(pipelinePermissionDenials(core, { allowedApiGroups: [''], allowedVerbs: ['*'] })).toEqual([]);
    expect(pipelinePermissionDenials(core, { allowedResources: ['pods'] })).toEqual([
      'pipeline "p" rbac.permissions[0]: resource(s) "pods/log" not allowed',
    ]);
    expect(pipelinePermissionDenials(core, { allowedResourceNamespaces: ['team-b'] })).toEqual([
      'pipeline "p" rbac.permissions[0]: resourceNamespace "team-a" not allowed',
    ]);
  });

  it('checks every pipeline of a Promise, naming where it is', () => {
    expect(promisePermissionDenials(promise(wide), { allowClusterWide: false })).toEqual([
      'spec.workflows.resource.configure[0] (p) rbac.permissions[0]: cluster-wide permissions (resourceNamespace "*") not allowed',
    ]);
  });
});
