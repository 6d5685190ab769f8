import { groupCommitOptions } from '../../src/statestore/git.js';
import { GroupCommit, lingerBeforeBatch } from '../../src/statestore/group-commit.js';

const opts = { maxBatch: 3, lingerMs: 1000 };

describe('lingerBeforeBatch', () => {
  it('never waits after a batch of one or none (a lone write goes at once)', () => {
    expect(lingerBeforeBatch(0, 1, 0, opts)).toBe(0);
    expect(lingerBeforeBatch(1, 2, 0, opts)).toBe(0);
  });

  it('after a grouped batch, waits until the oldest item has waited lingerMs', () => {
    expect(lingerBeforeBatch(2, 1, 0, opts)).toBe(1000);
    expect(lingerBeforeBatch(2, 2, 400, opts)).toBe(600);
    expect(lingerBeforeBatch(2, 2, 1500, opts)).toBe(0);
  });

  it('does not wait when the queue already fills a batch', () => {
    expect(lingerBeforeBatch(3, 3, 0, opts)).toBe(0);
    expect(lingerBeforeBatch(3, 7, 0, opts)).toBe(0);
  });
});

/** A commit function whose batches are recorded and finish when the test says. */
function gatedCommit() {
  const batches: string[][] = [];
  const gates: (() => void)[] = [];
  const commit = (batch: string[]) =>
    new Promise<string>((resolve) => {
      batches.push(batch);
      gates.push(() => resolve(batch.join('+')));
    });
  return { batches, commit, release: () => gates.shift()!() };
}

const settle = () => new Promise((r) => setImmediate(r));

/** Brings `q` to a grouped batch in flight: [a] committed, [b, c] running. */
async function groupedBatchRunning(q: GroupCommit<string, string>, g: ReturnType<typeof gatedCommit>) {
  void q.add('a');
  await settle();
  void q.add('b');
  void q.add('c');
  g.release();
  await settle();
  expect(g.batches).toEqual([['a'], ['b', 'c']]);
}

describe('GroupCommit', () => {
  it('commits a lone item at once and folds items that queued meanwhile into one batch', async () => {
    const g = gatedCommit();
    const q = new GroupCommit<string, string>({ maxBatch: 50, lingerMs: 60_000 }, g.commit);
    const a = q.add('a');
    await settle();
    expect(g.batches).toEqual([['a']]);
    const rest = ['b', 'c', 'd'].map((x) => q.add(x));
    await settle();
    expect(g.batches).toHaveLength(1);
    g.release();
    await expect(a).resolves.toBe('a');
    await settle();
    // The batch after a batch of one does not linger.
    expect(g.batches).toEqual([['a'], ['b', 'c', 'd']]);
    g.release();
    await expect(Promise.all(rest)).resolves.toEqual(['b+c+d', 'b+c+d', 'b+c+d']);
  });

  it('after a grouped batch, waits for company until lingerMs, then commits what came', async () => {
    const g = gatedCommit();
    const q = new GroupCommit<string, string>({ maxBatch: 50, lingerMs: 150 }, g.commit);
    await groupedBatchRunning(q, g);
    const d = q.add('d');
    g.release();
    await settle();
    // [b, c] grouped: d waits for company instead of a push of its own.
    expect(g.batches).toHaveLength(2);
    const e = q.add('e');
    await new Promise((r) => setTimeout(r, 300));
    expect(g.batches).toEqual([['a'], ['b', 'c'], ['d', 'e']]);
    g.release();
    await expect(Promise.all([d, e])).resolves.toEqual(['d+e', 'd+e']);
  });

  it('starts a full batch without waiting', async () => {
    const g = gatedCommit();
    const q = new GroupCommit<string, string>({ maxBatch: 2, lingerMs: 60_000 }, g.commit);
    await groupedBatchRunning(q, g);
    void q.add('d');
    g.release();
    await settle();
    expect(g.batches).toHaveLength(2);
    void q.add('e');
    await settle();
    expect(g.batches).toEqual([['a'], ['b', 'c'], ['d', 'e']]);
    g.release();
  });

  it('rejects only the items of a failed batch', async () => {
    let calls = 0;
    const q = new GroupCommit<string, string>({ maxBatch: 50, lingerMs: 0 }, (batch) =>
      ++calls === 1 ? Promise.reject(new Error('push rejected')) : Promise.resolve(batch.join('+')),
    );
    const a = q.add('a');
    const b = q.add('b');
    await expect(a).rejects.toThrow('push rejected');
    await expect(b).resolves.toBe('b');
  });
});

describe("the git writer's group commit settings", () => {
  const withWait = (value: string | undefined) => {
    const before = process.env.KRATIX_STATE_STORE_GROUP_WAIT;
    if (value === undefined) delete process.env.KRATIX_STATE_STORE_GROUP_WAIT;
    else process.env.KRATIX_STATE_STORE_GROUP_WAIT = value;
    try {
      return groupCommitOptions().lingerMs;
    } finally {
      if (before === undefined) delete process.env.KRATIX_STATE_STORE_GROUP_WAIT;
      else process.env.KRATIX_STATE_STORE_GROUP_WAIT = before;
    }
  };

  it('waits 2 s under load by default; KRATIX_STATE_STORE_GROUP_WAIT changes it, 0 never waits', () => {
    expect(withWait(undefined)).toBe(2000);
    expect(withWait('250ms')).toBe(250);
    expect(withWait('0')).toBe(0);
    expect(withWait('0s')).toBe(0);
    // Not a duration: the default (and a warning), not NaN or no batching at all.
    expect(withWait('fast')).toBe(2000);
  });
});
