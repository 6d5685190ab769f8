import { addFinalizerPatch, patchMetadata } from '../../src/kube/objects.js';
import type { KubeObject } from '../../src/core/types.js';

const object = (resourceVersion: string, finalizers?: string[]): KubeObject => ({
  apiVersion: 'example.org/v1',
  kind: 'Thing',
  metadata: {
    name: 'a',
    namespace: 'default',
    uid: 'u1',
    resourceVersion,
    ...(finalizers ? { finalizers } : {}),
  },
});
const conflict = () => Object.assign(new Error('Conflict'), { code: 409 });

describe('metadata read-modify-write', () => {
  it("patches from the caller's copy without reading when that copy is current", async () => {
    const reads: string[] = [];
    const writes: unknown[] = [];
    const ok = await patchMetadata(
      async () => (reads.push('read'), object('2')),
      async (body) => writes.push(body),
      addFinalizerPatch('f'),
      object('1'),
    );
    expect(ok).toBe(true);
    expect(reads).toEqual([]);
    expect(writes).toEqual([{ metadata: { finalizers: ['f'], resourceVersion: '1' } }]);
  });

  it('reads the object and tries again when the copy was behind (conflict)', async () => {
    const writes: { metadata: { resourceVersion: string } }[] = [];
    const ok = await patchMetadata(
      async () => object('2', ['other']),
      async (body) => {
        const b = body as { metadata: { resourceVersion: string } };
        writes.push(b);
        if (b.metadata.resourceVersion === '1') throw conflict();
      },
      addFinalizerPatch('f'),
      object('1'),
    );
    expect(ok).toBe(true);
    expect(writes.map((w) => w.metadata)).toEqual([
      { finalizers: ['f'], resourceVersion: '1' },
      { finalizers: ['other', 'f'], resourceVersion: '2' },
    ]);
  });

  it('writes nothing when the fresh object already has the change', async () => {
    const writes: unknown[] = [];
    const ok = await patchMetadata(
      async () => object('2', ['f']),
      async (body) => writes.push(body),
      addFinalizerPatch('f'),
    );
    expect(ok).toBe(true);
    expect(writes).toEqual([]);
  });
});
