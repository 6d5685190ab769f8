import { RunHandoff } from '../../activities/run-handoff.js';

describe('RunHandoff (a run start hands its object read to its first pipeline)', () => {
  it('gives the object once, to its own run only', () => {
    const h = new RunHandoff<string>();
    h.put('run/1', 'object of run 1');
    expect(h.take('run/2')).toBeUndefined();
    expect(h.take('run/1')).toBe('object of run 1');
    expect(h.take('run/1')).toBeUndefined(); // a retry reads the API server
  });

  it('an object left too long is not given: the pipeline reads a current one', () => {
    let t = 0;
    const h = new RunHandoff<string>(10_000, 100, () => t);
    h.put('run/1', 'old');
    t = 10_001;
    expect(h.take('run/1')).toBeUndefined();
  });

  it('stays bounded when pipelines run elsewhere and never take theirs', () => {
    let t = 0;
    const h = new RunHandoff<number>(10_000, 3, () => t);
    for (let i = 0; i < 5; i++) h.put(`run/${i}`, i);
    expect(h.size).toBe(3);
    expect(h.take('run/0')).toBeUndefined(); // the oldest went first
    expect(h.take('run/4')).toBe(4);
    t = 20_000;
    h.put('run/new', 9); // expired ones go on the next put
    expect(h.size).toBe(1);
  });
});
