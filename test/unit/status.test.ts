import { checkStatusDocument, mergeStatus, setCondition } from '../../src/core/status.js';

describe('mergeStatus', () => {
  it("deep-merges pipeline status with the latest pipeline winning (seed 004's iam example)", () => {
    const afterFirst = mergeStatus({}, { iam: { user: 'admin' }, message: 'User created' });
    const final = mergeStatus(afterFirst, {
      iam: { password: '<vault-ref>' },
      message: 'User created and vault secret created',
    });
    expect(final).toEqual({
      iam: { user: 'admin', password: '<vault-ref>' },
      message: 'User created and vault secret created',
    });
  });

  it('replaces arrays instead of concatenating them', () => {
    expect(mergeStatus({ hosts: ['a', 'b'] }, { hosts: ['c'] })).toEqual({ hosts: ['c'] });
  });

  it('merges conditions by type', () => {
    const current = {
      conditions: [
        { type: 'PipelineCompleted', status: 'False' as const, lastTransitionTime: 't0' },
        { type: 'Ready', status: 'True' as const, lastTransitionTime: 't0' },
      ],
    };
    const merged = mergeStatus(current, {
      conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: 't1' }],
    });
    expect(merged.conditions).toEqual([
      { type: 'PipelineCompleted', status: 'False', lastTransitionTime: 't0' },
      { type: 'Ready', status: 'False', lastTransitionTime: 't1' },
    ]);
  });
});

describe('setCondition', () => {
  it('keeps lastTransitionTime when the status does not change', () => {
    const list = setCondition([], { type: 'A', status: 'False', reason: 'x' }, 't0');
    const again = setCondition(list, { type: 'A', status: 'False', reason: 'y' }, 't1');
    expect(again).toEqual([{ type: 'A', status: 'False', reason: 'y', lastTransitionTime: 't0' }]);
    const flipped = setCondition(again, { type: 'A', status: 'True', reason: 'z' }, 't2');
    expect(flipped[0]!.lastTransitionTime).toBe('t2');
  });
});

describe('checkStatusDocument', () => {
  it('accepts maps and empty files, rejects lists and scalars', () => {
    expect(checkStatusDocument({ a: 1 })).toBeUndefined();
    expect(checkStatusDocument(null)).toBeUndefined();
    expect(checkStatusDocument(['a'])).toMatch(/map/);
    expect(checkStatusDocument('hello')).toMatch(/map/);
  });
});
