import { Admission } from '../../src/controller/admission.js';

describe('Admission', () => {
  let t = 0;
  const make = (limit: number, holdMs = 60_000) => new Admission({ limit, holdMs, now: () => t });
  beforeEach(() => {
    t = 0;
  });

  it('admits up to the limit; the rest wait in arrival order and are handed back as runs finish', () => {
    const a = make(2);
    const requeued: string[] = [];
    const rq = (uid: string) => () => requeued.push(uid);
    expect(a.admit('a', rq('a'))).toBe(true);
    expect(a.admit('b', rq('b'))).toBe(true);
    expect(a.admit('c', rq('c'))).toBe(false);
    expect(a.admit('d', rq('d'))).toBe(false);
    expect(a.admit('a', rq('a'))).toBe(true); // already admitted: its later events pass
    expect([a.inFlight, a.waitingCount]).toEqual([2, 2]);

    a.done('a');
    expect(requeued).toEqual(['c']);
    // A newcomer does not overtake the one handed back.
    expect(a.admit('e', rq('e'))).toBe(false);
    expect(a.admit('c', rq('c'))).toBe(true);
    a.done('b');
    a.done('c');
    expect(requeued).toEqual(['c', 'd', 'e']);
    expect(a.admit('d', rq('d'))).toBe(true);
    expect(a.admit('e', rq('e'))).toBe(true);
    expect([a.inFlight, a.waitingCount]).toEqual([2, 0]);
  });

  it('reports the number waiting each time it changes (the kratix_controller_admission_waiting gauge)', () => {
    const reported: number[] = [];
    const a = new Admission({ limit: 1, holdMs: 1000, now: () => t, onWaiting: (n) => reported.push(n) });
    a.admit('a', () => undefined);
    a.admit('b', () => undefined);
    a.admit('c', () => undefined);
    a.admit('b', () => undefined); // still waiting: no change
    expect(reported).toEqual([1, 2]);
    a.done('a'); // b handed back
    expect(reported).toEqual([1, 2, 1]);
    a.done('c'); // gone while waiting
    expect(reported).toEqual([1, 2, 1, 0]);
    t = 5000;
    a.tick(); // nothing waits: nothing to report
    expect(reported).toEqual([1, 2, 1, 0]);
  });

  it('gives a slot back after holdMs, so a run that waits long does not block newer objects', () => {
    const a = make(1, 1000);
    const requeued: string[] = [];
    expect(a.admit('slow', () => requeued.push('slow'))).toBe(true);
    expect(a.admit('next', () => requeued.push('next'))).toBe(false);
    t = 999;
    a.tick();
    expect(requeued).toEqual([]);
    t = 1000;
    a.tick();
    expect(requeued).toEqual(['next']);
    expect(a.admit('next', () => undefined)).toBe(true);
  });

  it('frees a slot kept for an object handed back that no longer needs one', () => {
    const a = make(1);
    const requeued: string[] = [];
    a.admit('a', () => undefined);
    a.admit('b', () => requeued.push('b'));
    a.admit('c', () => requeued.push('c'));
    a.done('a');
    expect(requeued).toEqual(['b']);
    // b turned out to be complete already (or was deleted): the controller says so.
    a.done('b');
    expect(requeued).toEqual(['b', 'c']);
    a.done('c');
    expect([a.inFlight, a.waitingCount]).toEqual([0, 0]);
  });
});
