import { jest } from '@jest/globals';
import { startProgressBeat, type PipelineProgress } from '../../activities/progress-beat.js';

describe('startProgressBeat (heartbeats of a running pipeline)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('a run that ends within the first interval sends no heartbeat (no server write)', () => {
    const sent: PipelineProgress[] = [];
    const beat = startProgressBeat((d) => sent.push(d), 'configure-1', { everyMs: 2000 });
    beat.progress({ container: 'main', index: 0 });
    jest.advanceTimersByTime(1999);
    beat.stop();
    jest.advanceTimersByTime(10_000);
    expect(sent).toEqual([]);
  });

  it('a longer run beats every interval with the container running now', () => {
    const sent: PipelineProgress[] = [];
    const beat = startProgressBeat((d) => sent.push(d), 'configure-1', { everyMs: 2000 });
    beat.progress({ container: 'first', index: 0 });
    jest.advanceTimersByTime(2000);
    expect(sent).toEqual([{ pipeline: 'configure-1', container: 'first', index: 0 }]);
    // Progress once beating goes out at once: the Web UI's pending activity shows the new container.
    beat.progress({ container: 'second', index: 1 });
    expect(sent.at(-1)).toEqual({ pipeline: 'configure-1', container: 'second', index: 1 });
    jest.advanceTimersByTime(4000);
    expect(sent).toHaveLength(4);
    beat.stop();
    jest.advanceTimersByTime(10_000);
    expect(sent).toHaveLength(4);
  });

  it('by default first beats after 5 s: a run that a burst slows to a few seconds writes none', () => {
    const sent: PipelineProgress[] = [];
    const beat = startProgressBeat((d) => sent.push(d), 'configure-1');
    jest.advanceTimersByTime(4999);
    expect(sent).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(sent).toEqual([{ pipeline: 'configure-1' }]);
    beat.stop();
  });

  it('beats before any container started (a Pod still pending) with the pipeline alone', () => {
    const sent: PipelineProgress[] = [];
    const beat = startProgressBeat((d) => sent.push(d), 'configure-1', { everyMs: 2000 });
    jest.advanceTimersByTime(2000);
    beat.stop();
    expect(sent).toEqual([{ pipeline: 'configure-1' }]);
  });

  it('a run taken over from a local activity beats at once, then every interval', () => {
    const sent: PipelineProgress[] = [];
    const beat = startProgressBeat((d) => sent.push(d), 'configure-1', { immediately: true });
    expect(sent).toEqual([{ pipeline: 'configure-1' }]);
    beat.progress({ container: 'second', index: 1 });
    expect(sent).toHaveLength(2);
    jest.advanceTimersByTime(5000);
    expect(sent).toHaveLength(3);
    beat.stop();
  });
});
