import {
  failureBackoffMs,
  reconcileDelayMs,
  requeueDelayMs,
  WatchBackoff,
} from '../../src/core/scheduling.js';

describe('scheduling', () => {
  it('reconcile delay adds a stable jitter of at most 5% (capped at 5 minutes)', () => {
    const tenHours = 10 * 3600_000;
    const a = reconcileDelayMs(tenHours, 'uid-a');
    expect(a).toBe(reconcileDelayMs(tenHours, 'uid-a'));
    expect(a).toBeGreaterThanOrEqual(tenHours);
    expect(a).toBeLessThanOrEqual(tenHours + 5 * 60_000);
    expect(reconcileDelayMs(60_000, 'uid-a')).toBeLessThanOrEqual(63_000);
    expect(new Set(['a', 'b', 'c', 'd'].map((u) => reconcileDelayMs(tenHours, u))).size).toBe(4);
  });

  it('failed runs back off exponentially, capped by 10 minutes and the interval', () => {
    expect([1, 2, 3, 4].map((n) => failureBackoffMs(n, 3600_000))).toEqual([10_000, 20_000, 40_000, 80_000]);
    expect(failureBackoffMs(20, 3600_000)).toBe(600_000);
    expect(failureBackoffMs(5, 30_000)).toBe(30_000);
  });

  it('work-queue retries double from the base up to the cap', () => {
    expect([1, 2, 3].map((n) => requeueDelayMs(n))).toEqual([250, 500, 1000]);
    expect(requeueDelayMs(30)).toBe(60_000);
  });
});

describe('WatchBackoff', () => {
  it('doubles while a watch keeps failing, even when it connects in between', () => {
    const b = new WatchBackoff(1000, 30_000, 30_000);
    const delays: number[] = [];
    let now = 0;
    for (let i = 0; i < 7; i++) {
      b.connected(now); // the API server accepts the watch, then drops it
      now += 500;
      delays.push(b.failed(now));
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
  });

  it('starts again from the base once the watch stayed healthy', () => {
    const b = new WatchBackoff(1000, 30_000, 30_000);
    b.failed(0);
    b.failed(1);
    b.connected(10);
    expect(b.failed(10 + 30_000)).toBe(1000);
    expect(b.failed(40_000)).toBe(2000);
  });
});
