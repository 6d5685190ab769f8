import { spawn } from 'node:child_process';
import { ownerHandles } from '../../src/infra/process-group.js';

const running = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A program with a ProcessGroup running `sleep` (and, with `owner`, its own SIGINT handler that
 * does nothing yet): whether the group's child still runs 500 ms after the program got SIGINT.
 */
async function childRunsAfterSigint(owner: boolean): Promise<boolean> {
  const script = `
    import { ProcessGroup } from './src/infra/process-group.ts';
    const group = new ProcessGroup();
    const sleep = group.start('sleep', 'sleep', ['30']);
    ${owner ? "process.on('SIGINT', () => undefined);" : ''}
    sleep.child.once('spawn', () => console.log('child ' + sleep.child.pid));
  `;
  const program = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const pid = await new Promise<number>((resolve, reject) => {
      let out = '';
      program.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /child (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      program.once('exit', () => reject(new Error(`program exited early: ${out}`)));
    });
    program.kill('SIGINT');
    await sleep(500);
    return running(pid);
  } finally {
    // Its children die with it (setpriv --pdeathsig).
    program.kill('SIGKILL');
  }
}

describe('ProcessGroup and SIGINT', () => {
  it('leaves its children to a program that handles the signal itself (it stops them in its order)', async () => {
    expect(await childRunsAfterSigint(true)).toBe(true);
  }, 30_000);

  it('stops its children at the signal when only groups listen', async () => {
    expect(await childRunsAfterSigint(false)).toBe(false);
  }, 30_000);

  it('tells an owner listener from none', () => {
    expect(ownerHandles('SIGINT', [])).toBe(false);
    expect(ownerHandles('SIGINT', [() => undefined])).toBe(true);
  });
});
