import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** A running `kratix-temporal dev` and what it printed. */
export interface DevProcess {
  dir: string;
  kubeconfig: string;
  temporalAddress: string;
  uiUrl: string;
  /** The codec endpoint (`--encrypt-payloads`). */
  codecUrl?: string;
  stdout(): string;
  stop(): Promise<void>;
}

/**
 * Starts `kratix-temporal dev --dir <fresh dir> <args>` as a user would (its own control plane,
 * Temporal dev server + Web UI, controller and worker) and waits for `ready`. The child dies with
 * this process (`setpriv --pdeathsig`), so a crashed test run leaves nothing behind.
 */
export async function startDevProcess(args: string[], timeoutMs = 240_000): Promise<DevProcess> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kratix-dev-'));
  const argv = [process.execPath, '--import', 'tsx', 'src/cli/main.ts', 'dev', '--dir', dir, ...args];
  const child: ChildProcess = spawn('setpriv', ['--pdeathsig', 'KILL', '--', ...argv], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    if (!process.env.KRATIX_TEST_KEEP) rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  while (!/^ready$/m.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(
        `dev ${child.exitCode !== null ? `exited (${child.exitCode})` : 'never printed ready'}:\n${out}\n${err.slice(-4000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const field = (name: string) => new RegExp(`^${name}:\\s+(\\S+)`, 'm').exec(out)?.[1];
  const codecUrl = field('codec');
  return {
    dir,
    kubeconfig: field('kubeconfig')!,
    temporalAddress: field('temporal')!,
    uiUrl: field('web ui')!,
    ...(codecUrl ? { codecUrl } : {}),
    stdout: () => out,
    stop,
  };
}
