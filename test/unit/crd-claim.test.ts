import { crdClaim, resourceCrdFor } from '../../src/core/crd.js';

const api = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'things.example.com' },
  spec: {
    group: 'example.com',
    names: { plural: 'things', kind: 'Thing' },
    versions: [{ name: 'v1', served: true, storage: true }],
  },
};

describe('crdClaim', () => {
  const installed = resourceCrdFor('a', api as never, 'uid-a');

  it('marks the CRD with the installing Promise name and uid', () => {
    expect(installed.metadata.labels).toMatchObject({
      'kratix.io/promise-name': 'a',
      'app.kubernetes.io/managed-by': 'kratix-temporal',
    });
    expect(installed.metadata.annotations).toEqual({ 'kratix.io/promise-uid': 'uid-a' });
  });

  it('free, ours, another Promise, or not ours at all', () => {
    expect(crdClaim(undefined, { name: 'a', uid: 'uid-a' })).toEqual({ kind: 'free' });
    expect(crdClaim(installed, { name: 'a', uid: 'uid-a' })).toEqual({ kind: 'ours' });
    expect(crdClaim(installed, { name: 'b', uid: 'uid-b' })).toEqual({
      kind: 'promise',
      name: 'a',
      uid: 'uid-a',
    });
    // Same name, another incarnation: the caller adopts it only when that owner is gone.
    expect(crdClaim(installed, { name: 'a', uid: 'uid-a2' })).toEqual({
      kind: 'promise',
      name: 'a',
      uid: 'uid-a',
    });
    expect(crdClaim({ metadata: { name: 'things.example.com' } }, { name: 'a' })).toEqual({
      kind: 'foreign',
    });
  });

  it('a CRD installed before uids were recorded belongs to the Promise of its name', () => {
    const old = resourceCrdFor('a', api as never);
    expect(old.metadata.annotations).toBeUndefined();
    expect(crdClaim(old, { name: 'a', uid: 'uid-a' })).toEqual({ kind: 'ours' });
    expect(crdClaim(old, { name: 'b', uid: 'uid-b' })).toEqual({ kind: 'promise', name: 'a' });
  });
});
