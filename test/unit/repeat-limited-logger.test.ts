import type { LogLevel, LogMetadata, Logger } from '@temporalio/worker';
import {
  RepeatLimitedLogger,
  RepeatSuppressor,
  repeatKey,
} from '../../src/temporal/repeat-limited-logger.js';

describe('repeated log lines', () => {
  it('admits a key once per window and reports how many were dropped', () => {
    const s = new RepeatSuppressor(60_000);
    expect(s.admit('k', 0)).toBe(0);
    expect(s.admit('k', 1_000)).toBeUndefined();
    expect(s.admit('k', 2_000)).toBeUndefined();
    expect(s.admit('other', 2_000)).toBe(0);
    expect(s.admit('k', 61_000)).toBe(2);
    expect(s.admit('k', 62_000)).toBeUndefined();
  });

  it('the same failure of the same activity is one key, whatever the attempt', () => {
    const meta = (attempt: number, msg = 'HTTP 413') => ({
      workflowId: 'resource/p/ns/r/u/configure/1',
      activityType: 'runPipeline',
      attempt,
      error: new Error(msg),
    });
    expect(repeatKey('WARN', 'Activity failed', meta(1))).toBe(repeatKey('WARN', 'Activity failed', meta(7)));
    expect(repeatKey('WARN', 'Activity failed', meta(1))).not.toBe(
      repeatKey('WARN', 'Activity failed', meta(1, 'HTTP 422')),
    );
  });

  it('a stuck activity logs once a minute instead of every retry', () => {
    const lines: [LogLevel, string, LogMetadata | undefined][] = [];
    const inner = { log: (l: LogLevel, m: string, meta?: LogMetadata) => lines.push([l, m, meta]) } as Logger;
    let now = 0;
    const suppressor = new RepeatSuppressor(60_000);
    const admit = suppressor.admit.bind(suppressor);
    suppressor.admit = (key: string) => admit(key, now);
    const log = new RepeatLimitedLogger(inner, suppressor);
    for (let i = 0; i < 30; i++, now += 4_000)
      log.warn('Activity failed', { workflowId: 'w', activityType: 'a', attempt: i, error: new Error('x') });
    expect(lines.map(([, , meta]) => meta?.repeatedSinceLastLog)).toEqual([undefined, 14]);
  });
});
