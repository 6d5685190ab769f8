import { PAUSED_REASON, runStartedStatus, SUSPENDED_REASON } from '../../src/core/run-status.js';
import type { Condition, KubeObject } from '../../src/core/types.js';

const T = '2026-12-02T12:00:00Z';
const object = (conditions: Condition[], extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'example.org/v1',
  kind: 'Thing',
  metadata: { name: 'a', namespace: 'default' },
  status: { conditions, ...extra },
});
const condition = (status: Record<string, unknown>, type: string) =>
  (status.conditions as Condition[]).find((c) => c.type === type);

describe('the status a configure run starts with', () => {
  it('sets PipelineCompleted=False and every pipeline Pending', () => {
    const s = runStartedStatus(object([]), 'things', ['first', 'second'], T);
    expect(condition(s, 'PipelineCompleted')).toMatchObject({
      status: 'False',
      reason: 'PipelineNotCompleted',
    });
    expect((s.kratix as { workflows: { pipelines: unknown } }).workflows.pipelines).toEqual([
      { name: 'first', phase: 'Pending' },
      { name: 'second', phase: 'Pending' },
    ]);
  });

  it.each([SUSPENDED_REASON, PAUSED_REASON])(
    'no longer says Reconciled %s once a run starts again',
    (reason) => {
      const s = runStartedStatus(
        object([{ type: 'Reconciled', status: 'Unknown', reason, message: 'held', lastTransitionTime: T }]),
        'things',
        ['first'],
        T,
      );
      expect(condition(s, 'Reconciled')).toMatchObject({ status: 'Unknown', reason: 'Pending' });
    },
  );

  it('keeps any other Reconciled condition (a failure stays visible until the run ends)', () => {
    const failing = {
      type: 'Reconciled',
      status: 'False' as const,
      reason: 'ConfigureWorkflowFailed',
      message: 'Failing',
    };
    const s = runStartedStatus(object([{ ...failing, lastTransitionTime: T }]), 'things', ['first'], T);
    expect(condition(s, 'Reconciled')).toMatchObject(failing);
  });

  it('clears suspendedGeneration with a merge-patch null, so the run starts over', () => {
    const s = runStartedStatus(
      object([], { kratix: { workflows: { suspendedGeneration: 3 } } }),
      'things',
      ['first'],
      T,
    );
    expect((s.kratix as { workflows: Record<string, unknown> }).workflows.suspendedGeneration).toBeNull();
  });
});
