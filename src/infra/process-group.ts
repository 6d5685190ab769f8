import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  /** Resolves when the process has exited (for any reason). */
  exited: Promise<number | null>;
}

/**
 * Owns a set of child processes: they stop together. Each child runs under
 * `setpriv --pdeathsig KILL`, so the kernel kills it even when this process dies by SIGKILL:
 * no orphans. If one child exits unexpectedly, `onUnexpectedExit` fires so the owner can stop
 * the siblings.
 */
export class ProcessGroup {
  private readonly procs: ManagedProcess[] = [];
  private stopping: Promise<void> | undefined;
  private readonly signalHandler = () => void this.stop();

  constructor(private readonly onUnexpectedExit?: (p: ManagedProcess, code: number | null) => void) {}

  start(
    name: string,
    command: string,
    args: string[],
    opts: SpawnOptions & { logFile?: string } = {},
  ): ManagedProcess {
    let log: WriteStream | undefined;
    if (opts.logFile) log = createWriteStream(opts.logFile, { flags: 'a' });
    const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', command, ...args], {
      ...opts,
      stdio: ['ignore', log ? 'pipe' : 'ignore', log ? 'pipe' : 'ignore'],
    });
    if (log) {
      child.stdout?.pipe(log);
      child.stderr?.pipe(log);
    }
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.once('error', () => resolve(-1));
    });
    const proc: ManagedProcess = { name, child, exited };
    void exited.then((code) => {
      log?.end();
      if (!this.stopping) this.onUnexpectedExit?.(proc, code);
    });
    if (this.procs.length === 0) {
      process.once('SIGINT', this.signalHandler);
      process.once('SIGTERM', this.signalHandler);
    }
    this.procs.push(proc);
    return proc;
  }

  /** SIGTERM everything in reverse start order, SIGKILL what is still running after `graceMs`. */
  stop(graceMs = 5000): Promise<void> {
    // Every caller (signal handler, owner) waits for the same shutdown.
    this.stopping ??= this.stopAll(graceMs);
    return this.stopping;
  }

  private async stopAll(graceMs: number): Promise<void> {
    process.off('SIGINT', this.signalHandler);
    process.off('SIGTERM', this.signalHandler);
    for (const p of [...this.procs].reverse()) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
      p.child.kill('SIGTERM');
      const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
      await p.exited;
      clearTimeout(timer);
    }
  }
}
