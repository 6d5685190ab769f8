import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Runs `kratix-temporal worker` (or `controller`) as a separate process and starts a new one
 * whenever it dies, the way a Deployment would: tests can SIGKILL the worker (pid in
 * `<dir>/worker.pid`) mid-run.
 */
export class WorkerSupervisor {
  private child?: ChildProcess;
  private stopping = false;
  private quickExits = 0;
  readonly pidFile: string;

  constructor(
    private readonly dir: string,
    private readonly args: string[],
    private readonly env: Record<string, string>,
    private readonly command: 'worker' | 'controller' = 'worker',
  ) {
    this.pidFile = path.join(dir, `${command}.pid`);
  }

  start(): void {
    const log = createWriteStream(path.join(this.dir, `${this.command}.log`), { flags: 'a' });
    // pdeathsig: the worker dies with the test run even if jest is killed.
    const argv = [process.execPath, '--import', 'tsx', 'src/cli/main.ts', this.command, ...this.args];
    const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', ...argv], {
      cwd: repoRoot,
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    writeFileSync(this.pidFile, String(child.pid));
    const startedAt = Date.now();
    child.once('exit', (code, signal) => {
      log.end();
      if (this.stopping) return;
      // A worker that cannot start at all would otherwise only show up as test timeouts.
      this.quickExits = Date.now() - startedAt < 5_000 && signal === null ? this.quickExits + 1 : 0;
      if (this.quickExits === 3)
        console.error(
          `\n[test infra] the ${this.command} keeps exiting at start (code ${code}); see ${path.join(this.dir, `${this.command}.log`)}`,
        );
      setTimeout(() => this.start(), 500);
    });
    this.child = child;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await new Promise((r) => child.once('exit', r));
    clearTimeout(timer);
  }
}
