import { WorkQueue } from '../../src/controller/work-queue.js';

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe('WorkQueue', () => {
  it('retries a failed item with backoff until it succeeds', async () => {
    const seen: string[] = [];
    let failuresLeft = 3;
    const q = new WorkQueue<string>(
      't',
      async (_k, item) => {
        seen.push(item);
        if (failuresLeft-- > 0) throw new Error('temporal unavailable');
      },
      { baseRetryMs: 5, maxRetryMs: 20 },
    );
    q.add('a', 'v1');
    await q.idle();
    expect(seen).toEqual(['v1', 'v1', 'v1', 'v1']);
    await q.stop();
  });

  it('collapses events of one key to the newest and never handles a key twice at once', async () => {
    const seen: string[] = [];
    let running = 0;
    let maxRunning = 0;
    const q = new WorkQueue<string>('t', async (_k, item) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await tick(20);
      seen.push(item);
      running--;
    });
    q.add('a', 'v1');
    await tick();
    q.add('a', 'v2'); // arrives while v1 runs
    q.add('a', 'v3'); // replaces v2 before it started
    await q.idle();
    expect(seen).toEqual(['v1', 'v3']);
    expect(maxRunning).toBe(1);
    await q.stop();
  });

  it('a newer item replaces a failed one instead of waiting for its backoff', async () => {
    const seen: string[] = [];
    const q = new WorkQueue<string>(
      't',
      async (_k, item) => {
        seen.push(item);
        if (item === 'bad') throw new Error('boom');
      },
      { baseRetryMs: 60_000 },
    );
    q.add('a', 'bad');
    await tick(20);
    q.add('a', 'good');
    await q.idle();
    expect(seen).toEqual(['bad', 'good']);
    await q.stop();
  });

  it('bounds concurrency across keys and keeps other keys moving while one fails', async () => {
    let running = 0;
    let maxRunning = 0;
    const done: string[] = [];
    const q = new WorkQueue<number>(
      't',
      async (key) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await tick(10);
        running--;
        if (key === 'k0') throw new Error('always fails');
        done.push(key);
      },
      { concurrency: 3, baseRetryMs: 1_000 },
    );
    for (let i = 0; i < 10; i++) q.add(`k${i}`, i);
    for (let i = 0; i < 100 && done.length < 9; i++) await tick(10);
    expect(done.sort()).toEqual(['k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8', 'k9']);
    expect(maxRunning).toBe(3);
    expect(q.depth).toBe(1); // k0 waits for its retry
    await q.stop();
    expect(q.depth).toBe(0);
  });
});
