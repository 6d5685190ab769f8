import { validatePromise } from '../../src/core/validation.js';
import type { KratixPromise, Pipeline } from '../../src/core/types.js';

const pipeline = (name: string, containers: Pipeline['spec']['containers']): Pipeline => ({
  apiVersion: 'platform.kratix.io/v1alpha1',
  kind: 'Pipeline',
  metadata: { name },
  spec: { containers },
});

const promise = (configure: Pipeline[], api?: unknown): KratixPromise => ({
  apiVersion: 'platform.kratix.io/v1alpha1',
  kind: 'Promise',
  metadata: { name: 'p' },
  spec: { workflows: { resource: { configure } }, ...(api ? { api: api as never } : {}) },
});

const api = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'redis.example.com' },
  spec: {
    group: 'example.com',
    names: { plural: 'redis', kind: 'Redis' },
    versions: [{ name: 'v1', served: true, storage: true }],
  },
};

describe('validatePromise', () => {
  it('accepts a well-formed Promise', () => {
    expect(validatePromise(promise([pipeline('a', [{ name: 'c', image: 'i' }])], api))).toEqual([]);
  });

  it('rejects duplicate pipeline names', () => {
    const problems = validatePromise(
      promise([pipeline('a', [{ name: 'c', image: 'i' }]), pipeline('a', [{ name: 'c', image: 'i' }])]),
    );
    expect(problems).toEqual(['spec.workflows.resource.configure: duplicate pipeline name "a"']);
  });

  it('rejects duplicate container names and containers without name or image', () => {
    const problems = validatePromise(
      promise([
        pipeline('a', [{ name: 'c', image: 'i' }, { name: 'c', image: 'i' }, { image: 'i' }, { name: 'd' }]),
      ]),
    );
    expect(problems).toEqual([
      'pipeline "a": duplicate container name "c"',
      'pipeline "a" container 2: container has no name',
      'pipeline "a" container 3 (d): container has no image',
    ]);
  });

  it('rejects an api that is not a valid CRD', () => {
    expect(validatePromise(promise([], { apiVersion: 'v1', kind: 'ConfigMap' }))).toEqual([
      'spec.api must be an apiextensions.k8s.io/v1 CustomResourceDefinition',
    ]);
    expect(validatePromise(promise([], { ...api, metadata: { name: 'wrong' } }))).toEqual([
      'spec.api.metadata.name must be "redis.example.com", got "wrong"',
    ]);
  });

  it('allows only one delete pipeline', () => {
    const p = promise([]);
    p.spec!.workflows!.resource!.delete = [
      pipeline('a', [{ name: 'c', image: 'i' }]),
      pipeline('b', [{ name: 'c', image: 'i' }]),
    ];
    expect(validatePromise(p)).toEqual([
      'spec.workflows.resource.delete accepts exactly one Pipeline, found 2',
    ]);
  });
});
