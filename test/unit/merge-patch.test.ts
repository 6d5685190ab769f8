import { applyMergePatch, mergePatchBetween } from '../../src/core/run-status.js';

describe('mergePatchBetween (one status patch for two)', () => {
  const before = {
    message: 'Resource requested',
    observedGeneration: 1,
    conditions: [{ type: 'PipelineCompleted', status: 'True' }],
    kratix: { workflows: { suspendedGeneration: 1, pipelines: [{ name: 'a', phase: 'Succeeded' }] } },
  };

  it('is nothing between equal statuses', () => {
    expect(mergePatchBetween(before, structuredClone(before))).toBeUndefined();
  });

  it('removes, changes and adds key by key; arrays go whole', () => {
    const after = {
      message: 'Resource requested',
      observedGeneration: 2,
      conditions: [{ type: 'PipelineCompleted', status: 'False' }],
      kratix: { workflows: { pipelines: [{ name: 'a', phase: 'Running' }] } },
      ok: 'yes',
    };
    const patch = mergePatchBetween(before, after);
    expect(patch).toEqual({
      observedGeneration: 2,
      conditions: [{ type: 'PipelineCompleted', status: 'False' }],
      kratix: { workflows: { suspendedGeneration: null, pipelines: [{ name: 'a', phase: 'Running' }] } },
      ok: 'yes',
    });
    expect(applyMergePatch(before, patch)).toEqual(after);
  });

  it('equals two patches applied one after the other, where merging them would not', () => {
    // The first removes an object, the second sets part of it again: merged naively, the second
    // would keep the first's other keys.
    const first = { kratix: { workflows: null }, message: 'Pending' };
    const second = { kratix: { workflows: { pipelines: [] } }, message: 'Resource requested' };
    const both = applyMergePatch(applyMergePatch(before, first), second);
    expect(applyMergePatch(before, mergePatchBetween(before, both))).toEqual(both);
    expect(both).toMatchObject({ kratix: { workflows: { pipelines: [] } } });
    expect((both as typeof before).kratix.workflows).not.toHaveProperty('suspendedGeneration');
  });

  it('from no status at all, is the whole status', () => {
    expect(mergePatchBetween(undefined, { message: 'x' })).toEqual({ message: 'x' });
  });
});
