import { jest } from '@jest/globals';
import { HandedOffRuns, RunControl } from '../../activities/handed-off-runs.js';
import type { PipelineRunOutcome } from '../../src/executors/types.js';

const ok: PipelineRunOutcome = { ok: true, files: { output: [], metadata: {} } };

describe('RunControl (a running pipeline, owned by one activity at a time)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('stops the run when its owner is cancelled, and says whether the workflow asked for it', () => {
    const run = new RunControl(60_000);
    const local = new AbortController();
    run.bind(
      local.signal,
      () => true,
      () => undefined,
    );
    local.abort();
    expect(run.signal.aborted).toBe(true);
    expect(run.cancelRequested()).toBe(true);
    expect(run.timedOut()).toBe(false);
    run.end();
  });

  it('handed over, it outlives the local activity that started it; its new owner can stop it', () => {
    const run = new RunControl(60_000);
    const local = new AbortController();
    const beats: string[] = [];
    run.bind(
      local.signal,
      () => false,
      (p) => beats.push(`local ${p.container}`),
    );
    run.unbind();
    // The local activity's context ending must not stop the containers.
    local.abort();
    expect(run.signal.aborted).toBe(false);
    const adopter = new AbortController();
    run.bind(
      adopter.signal,
      () => true,
      (p) => beats.push(`adopter ${p.container}`),
    );
    run.progress({ container: 'second', index: 1 });
    expect(beats).toEqual(['adopter second']);
    adopter.abort();
    expect(run.signal.aborted).toBe(true);
    expect(run.cancelRequested()).toBe(true);
    run.end();
  });

  it("times out by the pipeline's timeout, counted from its start, across the hand-over", () => {
    const run = new RunControl(10_000);
    run.unbind();
    jest.advanceTimersByTime(9_999);
    expect(run.signal.aborted).toBe(false);
    jest.advanceTimersByTime(1);
    expect(run.timedOut()).toBe(true);
    // A timed-out run is over for good (its containers are stopped, not left for a retry).
    expect(run.cancelRequested()).toBe(true);
  });
});

describe('HandedOffRuns', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('gives a handed-over run to the activity that takes it, once', async () => {
    const runs = new HandedOffRuns();
    const run = new RunControl(60_000);
    runs.put('run-1/0-p', run, Promise.resolve(ok));
    expect(runs.take('run-1/0-p')?.control).toBe(run);
    expect(runs.take('run-1/0-p')).toBeUndefined();
    expect(runs.take('run-2/0-p')).toBeUndefined();
    run.end();
  });

  it('stops a run nobody takes within the orphan time (its workflow went another way)', () => {
    const runs = new HandedOffRuns(30_000);
    const run = new RunControl(600_000);
    runs.put('run-1/0-p', run, new Promise<PipelineRunOutcome>(() => undefined));
    jest.advanceTimersByTime(29_999);
    expect(run.signal.aborted).toBe(false);
    jest.advanceTimersByTime(1);
    expect(run.signal.aborted).toBe(true);
    expect(run.cancelRequested()).toBe(true);
    expect(runs.size).toBe(0);
    expect(runs.take('run-1/0-p')).toBeUndefined();
  });

  it('a run taken in time is not stopped later, and a failed one reports nothing unhandled', async () => {
    const runs = new HandedOffRuns(30_000);
    const run = new RunControl(600_000);
    const failed = Promise.reject(new Error('container failed'));
    runs.put('run-1/0-p', run, failed);
    const taken = runs.take('run-1/0-p')!;
    jest.advanceTimersByTime(60_000);
    expect(run.signal.aborted).toBe(false);
    await expect(taken.done).rejects.toThrow('container failed');
    run.end();
  });
});
