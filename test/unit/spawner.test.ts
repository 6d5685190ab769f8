import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Spawner, SpawnError } from '../../src/spawner/spawner.js';

// The process runner that keeps forks of the (large) worker off the hot path: real processes.
describe('Spawner', () => {
  const spawner = new Spawner();
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  afterAll(() => spawner.stop());

  it('runs a process with exactly the given environment and captures its output and exit code', async () => {
    const r = await spawner.run({
      file: 'sh',
      args: ['-c', 'echo "$GREETING"; echo oops >&2; exit 3'],
      env: { ...env, GREETING: 'hi' },
    });
    expect(r).toMatchObject({ code: 3, stdout: 'hi\n', stderr: 'oops\n', timedOut: false });
    const clean = await spawner.run({ file: 'sh', args: ['-c', 'echo "${HOME:-unset}"'], env });
    expect(clean.stdout).toBe('unset\n');
  });

  it('appends stdout and stderr to a file when asked', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'spawner-'));
    try {
      const file = path.join(dir, 'log');
      await spawner.run({ file: 'sh', args: ['-c', 'echo one; echo two >&2'], env, outputFile: file });
      await spawner.run({ file: 'sh', args: ['-c', 'echo three'], env, outputFile: file });
      expect(readFileSync(file, 'utf8')).toBe('one\ntwo\nthree\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says ENOENT for a program that is not installed', async () => {
    const err = await spawner.run({ file: 'no-such-program-xyz', args: [], env }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpawnError);
    expect((err as SpawnError).code).toBe('ENOENT');
  });

  it('kills the process when the signal aborts or the timeout passes', async () => {
    const abort = new AbortController();
    const running = spawner.run({ file: 'sleep', args: ['30'], env, signal: abort.signal });
    setTimeout(() => abort.abort(), 200);
    expect(await running).toMatchObject({ code: null, signal: 'SIGKILL' });
    expect(await spawner.run({ file: 'sleep', args: ['30'], env, timeoutMs: 200 })).toMatchObject({
      code: null,
      timedOut: true,
    });
  });

  it('runs many at once', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => spawner.run({ file: 'sh', args: ['-c', `echo ${i}`], env })),
    );
    expect(results.map((r) => r.stdout.trim())).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
  });
});
