import { DefaultLogger, type LogLevel, type LogMetadata, type Logger } from '@temporalio/worker';
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

  it('lines below the inner level are dropped before they take a key from repeated warnings', () => {
    const lines: string[] = [];
    const inner = new DefaultLogger('INFO', (entry) => lines.push(`${entry.level} ${entry.message}`));
    const log = new RepeatLimitedLogger(inner, new RepeatSuppressor(60_000, 10));
    const warn = () =>
      log.warn('Activity failed', { workflowId: 'stuck', activityType: 'a', error: new Error('x') });
    warn();
    // A burst of other workflows' activities, logged by the SDK at DEBUG.
    for (let i = 0; i < 100; i++) log.debug('Activity completed', { workflowId: `w${i}`, activityType: 'a' });
    warn();
    expect(lines).toEqual(['WARN Activity failed']);
  });
});
