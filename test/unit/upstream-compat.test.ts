import { readFileSync } from 'node:fs';
import { parse, parseAllDocuments } from 'yaml';
import { unsupportedDestinationFields, unsupportedPromiseFields } from '../../src/core/upstream-compat.js';
import { promiseSummary, withUpstreamStatus } from '../../src/core/upstream-status.js';
import {
  pipelineIdentity,
  withPipelineNamespace,
  type PipelineSubject,
} from '../../src/core/pipeline-factory.js';
import { validatePromise } from '../../src/core/validation.js';
import type { Condition, KratixPromise, Pipeline } from '../../src/core/types.js';

const pipeline = (extra: Record<string, unknown> = {}, meta: Record<string, unknown> = {}) => ({
  apiVersion: 'platform.kratix.io/v1alpha1',
  kind: 'Pipeline',
  metadata: { name: 'p', labels: { a: 'b' }, ...meta },
  spec: { containers: [{ name: 'c', image: 'i' }], ...extra },
});

describe('unsupported upstream fields', () => {
  it('lists nothing for a Promise using only what is honoured', () => {
    const p = {
      spec: {
        workflows: {
          config: { pipelineNamespace: 'x', reconciliationInterval: '1h' },
          resource: {
            configure: [
              pipeline({
                nodeSelector: { a: 'b' },
                tolerations: [{ key: 'k' }],
                jobOptions: { backoffLimit: 2 },
                restartPolicy: 'OnFailure',
                rbac: { permissions: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] },
              }),
            ],
          },
        },
      },
    };
    expect(unsupportedPromiseFields(p)).toEqual([]);
  });

  it('names each accepted-but-ignored field with its path', () => {
    const p = {
      spec: {
        requiredPromises: [{ name: 'postgres', version: 'v1' }],
        workflows: {
          promise: {
            configure: [
              pipeline(
                { rbac: { permissions: [{ nonResourceURLs: ['/healthz'], verbs: ['get'] }] } },
                { generateName: 'x-', ownerReferences: [], finalizers: ['f'] },
              ),
            ],
          },
        },
      },
    };
    expect(unsupportedPromiseFields(p)).toEqual([
      'spec.workflows.promise.configure[0].metadata.finalizers',
      'spec.workflows.promise.configure[0].metadata.generateName',
      'spec.workflows.promise.configure[0].spec.rbac.permissions[0].nonResourceURLs',
    ]);
  });

  it('reports a Destination asking for upstream canary files', () => {
    expect(unsupportedDestinationFields({ spec: { initWorkloads: { enabled: true } } })).toEqual([
      'spec.initWorkloads.enabled',
    ]);
    expect(
      unsupportedDestinationFields({ spec: { initWorkloads: { enabled: false }, cleanup: 'all' } }),
    ).toEqual([]);
  });

  it('the Promise CRD declares upstream fields (strict kubectl apply accepts them)', () => {
    const crd = parse(readFileSync('deploy/crds/platform.kratix.io_promises.yaml', 'utf8'));
    const v = crd.spec.versions[0];
    const spec = v.schema.openAPIV3Schema.properties.spec.properties;
    expect(spec.workflows.properties.config.properties.pipelineNamespace.type).toBe('string');
    expect(spec.requiredPromises.items.properties.version.type).toBe('string');
    const item = spec.workflows.properties.promise.properties.configure.items.properties;
    for (const f of [
      'containers',
      'imagePullSecrets',
      'jobOptions',
      'nodeSelector',
      'rbac',
      'restartPolicy',
      'tolerations',
      'volumes',
    ])
      expect(item.spec.properties[f]).toBeDefined();
    expect(v.additionalPrinterColumns.slice(0, 5).map((c: { name: string }) => c.name)).toEqual([
      'Status',
      'Kind',
      'API Version',
      'Version',
      'Message',
    ]);
    const dest = parseAllDocuments(
      readFileSync('deploy/crds/platform.kratix.io_destinations.yaml', 'utf8'),
    )[0]!.toJS();
    const dspec = dest.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties;
    expect(dspec.filepath.properties.mode.enum).toEqual(['nestedByMetadata', 'aggregatedYAML', 'none']);
    expect(dspec.cleanup.enum).toEqual(['none', 'all']);
  });
});

describe('upstream conditions and counters', () => {
  const now = '2026-01-01T00:00:00Z';
  const conds = (patch: Record<string, unknown>) =>
    Object.fromEntries(
      ((withUpstreamStatus(patch, now).conditions ?? []) as Condition[]).map((c) => [
        c.type,
        `${c.status}/${c.reason}`,
      ]),
    );

  it('follows PipelineCompleted while running, on failure and on success', () => {
    expect(
      conds({ conditions: [{ type: 'PipelineCompleted', status: 'False', reason: 'PipelineNotCompleted' }] }),
    ).toMatchObject({
      ConfigureWorkflowCompleted: 'False/PipelinesInProgress',
      Reconciled: 'Unknown/WorkflowPending',
    });
    expect(
      conds({
        conditions: [{ type: 'PipelineCompleted', status: 'False', reason: 'PipelineFailed', message: 'x' }],
      }),
    ).toMatchObject({
      ConfigureWorkflowCompleted: 'False/ConfigureWorkflowFailed',
      Reconciled: 'False/ConfigureWorkflowFailed',
    });
    expect(
      conds({
        conditions: [
          { type: 'PipelineCompleted', status: 'True', reason: 'PipelineExecutedSuccessfully' },
          { type: 'WorksSucceeded', status: 'True', reason: 'WorksSucceeded' },
        ],
      }),
    ).toMatchObject({
      ConfigureWorkflowCompleted: 'True/PipelinesExecutedSuccessfully',
      Reconciled: 'True/Reconciled',
    });
  });

  it('reports works pending or failing, and the delete workflow', () => {
    expect(
      conds({
        conditions: [
          { type: 'PipelineCompleted', status: 'True' },
          { type: 'WorksSucceeded', status: 'Unknown', reason: 'WorksPending' },
        ],
      }).Reconciled,
    ).toBe('Unknown/WorksPending');
    expect(
      conds({
        conditions: [{ type: 'DeletePipelineCompleted', status: 'False', reason: 'DeletePipelineFailed' }],
      }).DeleteWorkflowCompleted,
    ).toBe('False/DeleteWorkflowFailed');
  });

  it('a suspended workflow is Reconciled=Unknown/WorkflowSuspended; a paused object keeps Reconciled=Paused', () => {
    expect(
      conds({
        conditions: [
          { type: 'PipelineCompleted', status: 'False', reason: 'WorkflowSuspended', message: 'm' },
        ],
      }),
    ).toMatchObject({
      ConfigureWorkflowCompleted: 'False/WorkflowSuspended',
      Reconciled: 'Unknown/WorkflowSuspended',
    });
    expect(
      conds({
        conditions: [
          { type: 'PipelineCompleted', status: 'True' },
          { type: 'WorksSucceeded', status: 'True' },
          { type: 'Reconciled', status: 'Unknown', reason: 'PausedReconciliation', message: 'Paused' },
        ],
      }).Reconciled,
    ).toBe('Unknown/PausedReconciliation');
  });

  it('keeps lastTransitionTime when the status does not change', () => {
    const out = withUpstreamStatus(
      {
        conditions: [
          { type: 'PipelineCompleted', status: 'True' },
          { type: 'ConfigureWorkflowCompleted', status: 'True', lastTransitionTime: 'earlier' },
        ],
      },
      now,
    );
    expect(
      (out.conditions as Condition[]).find((c) => c.type === 'ConfigureWorkflowCompleted')
        ?.lastTransitionTime,
    ).toBe('earlier');
  });

  it('counts workflows from the pipeline phases', () => {
    const out = withUpstreamStatus(
      {
        kratix: {
          workflows: { pipelines: [{ phase: 'Succeeded' }, { phase: 'Failed' }, { phase: 'Pending' }] },
        },
      },
      now,
    );
    expect(out).toMatchObject({ workflows: 3, workflowsSucceeded: 1, workflowsFailed: 1 });
    expect(withUpstreamStatus({ message: 'x' }, now)).toEqual({ message: 'x' });
  });

  it('fills the Promise printer columns', () => {
    const p = {
      metadata: { labels: { 'kratix.io/promise-version': 'v1.2.0' } },
      spec: {
        api: { spec: { group: 'g.io', names: { kind: 'Db' }, versions: [{ name: 'v1', storage: true }] } },
      },
    };
    expect(promiseSummary(p, true)).toEqual({
      status: 'Available',
      kind: 'Db',
      apiVersion: 'g.io/v1',
      version: 'v1.2.0',
    });
    expect(promiseSummary({ metadata: {} }, false)).toEqual({ status: 'Unavailable' });
  });
});

describe('pipelineNamespace', () => {
  const subject: PipelineSubject = {
    promise: 'db',
    type: 'resource',
    action: 'configure',
    group: 'g.io',
    version: 'v1',
    kind: 'Db',
    plural: 'dbs',
    name: 'x',
    namespace: 'team-a',
  };
  const promise = {
    spec: { workflows: { config: { pipelineNamespace: 'pipelines' } } },
  } as unknown as KratixPromise;

  it('runs promise and resource pipelines there; a Resource still reads its own object', () => {
    const id = pipelineIdentity(withPipelineNamespace(subject, promise), pipeline() as unknown as Pipeline);
    expect(id.serviceAccount.namespace).toBe('pipelines');
    expect(id.roles.map((r) => r.metadata.namespace)).toEqual(['team-a']);
    expect(id.roles[0]!.rules[0]!.resources).toEqual(['dbs', 'dbs/status']);
    expect(id.roleBindings[0]!.subjects[0]!.namespace).toBe('pipelines');
    const promiseId = pipelineIdentity(
      withPipelineNamespace({ ...subject, type: 'promise', namespace: undefined }, promise),
      pipeline() as unknown as Pipeline,
    );
    expect(promiseId.serviceAccount.namespace).toBe('pipelines');
  });

  it('refuses a value that cannot be a namespace', () => {
    const bad = {
      metadata: { name: 'x' },
      spec: { workflows: { config: { pipelineNamespace: 'Not_A_Namespace' } } },
    };
    expect(validatePromise(bad as unknown as KratixPromise).join()).toMatch(
      /pipelineNamespace "Not_A_Namespace" is not a valid namespace name/,
    );
  });
});
