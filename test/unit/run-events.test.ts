import { RUN_EVENTS } from '../../src/core/run-status.js';

describe("a run's Event messages", () => {
  it('names the last pipeline in ConfigureWorkflowCompleted, worded as its PipelineSucceeded would be', () => {
    expect(RUN_EVENTS.configureCompleted({ name: 'report', index: 1, total: 2 })).toBe(
      'Pipeline "report" completed (2/2); all configure pipelines completed',
    );
    expect(RUN_EVENTS.configureCompleted({ name: 'report', index: 1, total: 2 })).toContain(
      RUN_EVENTS.pipelineSucceeded('configure', 'report', 1, 2),
    );
  });

  it('says only that the run completed when no pipeline is named (runs recorded before)', () => {
    expect(RUN_EVENTS.configureCompleted()).toBe('All configure pipelines completed');
  });

  it('words delete pipelines without a position', () => {
    expect(RUN_EVENTS.pipelineSucceeded('delete', 'cleanup', 0, 1)).toBe(
      'delete pipeline "cleanup" completed',
    );
    expect(RUN_EVENTS.pipelineStarted('delete', 'cleanup', 0, 1)).toBe(
      'delete pipeline "cleanup" started (1/1)',
    );
  });
});
