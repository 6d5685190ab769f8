import { jest } from '@jest/globals';
import { DeferredStatusWrite } from '../../activities/deferred-status.js';

describe('DeferredStatusWrite (a pipeline Running status written only if it runs a while)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('a run that ends sooner writes nothing: its final patch carries the change', async () => {
    const writes: string[] = [];
    const running = new DeferredStatusWrite(async () => void writes.push('Running'), 1000);
    jest.advanceTimersByTime(999);
    expect(await running.hold()).toBe(true);
    running.carriedBy();
    jest.advanceTimersByTime(10_000);
    await running.flush(); // a later way out writes nothing either
    expect(writes).toEqual([]);
  });

  it('a longer run writes it once, when due; the final patch then goes as usual', async () => {
    const writes: string[] = [];
    const running = new DeferredStatusWrite(async () => void writes.push('Running'), 1000);
    jest.advanceTimersByTime(1000);
    expect(writes).toEqual(['Running']);
    expect(await running.hold()).toBe(false);
    await running.flush();
    expect(writes).toEqual(['Running']);
  });

  it('a failure before it was due writes it first, once', async () => {
    const writes: string[] = [];
    const running = new DeferredStatusWrite(async () => void writes.push('Running'), 1000);
    await running.flush();
    await running.flush();
    jest.advanceTimersByTime(5000);
    expect(writes).toEqual(['Running']);
  });

  it('a carried patch the API server refused: the Running status is written after all', async () => {
    const writes: string[] = [];
    const running = new DeferredStatusWrite(async () => void writes.push('Running'), 1000);
    expect(await running.hold()).toBe(true); // ... and the final patch failed: no carriedBy()
    await running.flush();
    expect(writes).toEqual(['Running']);
  });

  it('a write that fails is seen by whoever waits for it', async () => {
    const running = new DeferredStatusWrite(() => Promise.reject(new Error('API server down')), 1000);
    jest.advanceTimersByTime(1000);
    await expect(running.hold()).rejects.toThrow('API server down');
    await expect(running.flush()).rejects.toThrow('API server down');
  });
});

describe('DeferredStatusWrite.postpone (containers done, output being written)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('waits for the output up to the grace period from the start, then writes it', () => {
    const writes: string[] = [];
    const running = new DeferredStatusWrite(async () => void writes.push('Running'), 1000, 0);
    jest.advanceTimersByTime(300);
    running.postpone(5000, 300);
    jest.advanceTimersByTime(4000);
    expect(writes).toEqual([]); // a group commit that takes seconds: still carried
    jest.advanceTimersByTime(700);
    expect(writes).toEqual(['Running']); // a slow remote: the run shows in progress
  });

  it('changes nothing once written', () => {
    const writes: string[] = [];
    const running = new DeferredStatusWrite(async () => void writes.push('Running'), 1000, 0);
    jest.advanceTimersByTime(1000);
    running.postpone(5000, 1000);
    jest.advanceTimersByTime(10_000);
    expect(writes).toEqual(['Running']);
  });
});
