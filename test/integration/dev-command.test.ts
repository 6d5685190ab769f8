import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { kubectl } from '../support/cluster.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

function descendants(pid: number): number[] {
  const out = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' });
  const children = new Map<number, number[]>();
  for (const line of out.trim().split('\n')) {
    const [p, pp] = line.trim().split(/\s+/).map(Number) as [number, number];
    children.set(pp, [...(children.get(pp) ?? []), p]);
  }
  const result: number[] = [];
  const stack = [pid];
  while (stack.length) {
    for (const c of children.get(stack.pop()!) ?? []) {
      result.push(c);
      stack.push(c);
    }
  }
  return result;
}

/** Running (zombies count as gone: they have exited and hold no port). */
const alive = (pid: number) => {
  try {
    const stat = execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    return stat !== '' && !stat.startsWith('Z');
  } catch {
    return false;
  }
};

describe('kratix-temporal dev', () => {
  it('prints ready, serves the Web UI it printed, survives its Temporal server dying, and leaves no process behind after SIGINT', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kratix-dev-'));
    const argv = [process.execPath, '--import', 'tsx', 'src/cli/main.ts', 'dev', '--dir', dir];
    const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', ...argv], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      const deadline = Date.now() + 120_000;
      while (!/^ready$/m.test(stdout)) {
        if (child.exitCode !== null) throw new Error(`dev exited early (${child.exitCode}): ${stderr}`);
        if (Date.now() > deadline) throw new Error(`dev never printed ready: ${stdout}\n${stderr}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const uiUrl = /web ui:\s+(\S+)/.exec(stdout)?.[1];
      expect(uiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await fetch(uiUrl!)).status).toBe(200);
      const metricsUrl = /metrics:\s+(\S+)/.exec(stdout)?.[1];
      expect(await (await fetch(metricsUrl!)).text()).toContain('# TYPE kratix_pipeline_runs_total counter');
      const kubeconfig = /kubeconfig:\s+(\S+)/.exec(stdout)?.[1];
      expect(kubeconfig).toBe(path.join(dir, 'kubeconfig'));
      expect((await kubectl(['get', 'namespaces'], { kubeconfig })).code).toBe(0);

      expect(stdout).toMatch(/executor:\s+local/);

      // Temporal dies: dev starts it again with its state and carries on.
      const temporalPid = () =>
        descendants(child.pid!).find((p) => {
          try {
            return execFileSync('ps', ['-o', 'args=', '-p', String(p)], { encoding: 'utf8' }).includes(
              'start-dev',
            );
          } catch {
            return false;
          }
        });
      const before = temporalPid()!;
      expect(before).toBeGreaterThan(0);
      process.kill(before, 'SIGKILL');
      const deadline2 = Date.now() + 60_000;
      while (
        !(await fetch(uiUrl!).then(
          (r) => r.ok,
          () => false,
        ))
      ) {
        if (child.exitCode !== null) throw new Error(`dev exited after Temporal died: ${stderr}`);
        if (Date.now() > deadline2) throw new Error('Temporal did not come back');
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(temporalPid()).not.toBe(before);
      expect(child.exitCode).toBeNull();

      const spawned = descendants(child.pid!);
      expect(spawned.length).toBeGreaterThanOrEqual(3); // etcd, kube-apiserver, temporal
      child.kill('SIGINT');
      const code = await new Promise<number | null>((r) => child.once('exit', r));
      expect(code).toBe(0);
      await new Promise((r) => setTimeout(r, 500));
      const left = spawned.filter(alive);
      expect(left).toEqual([]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
