import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  /** Resolves when the process has exited (for any reason). */
  exited: Promise<number | null>;
}

/** Every ProcessGroup's signal handler: told apart from an owner's own. */
const groupHandlers = new Set<(signal: NodeJS.Signals) => void>();

/**
 * Whether a program handles `signal` itself (a listener that is not a ProcessGroup's): then it
 * stops its groups in its own order. `dev` stops the controller, which hands its lease over,
 * before the API server: a group stopping at the same signal killed the API server under it, and
 * the next start waited for the lease to expire.
 */
export function ownerHandles(signal: NodeJS.Signals, listeners = process.listeners(signal)): boolean {
  return listeners.some((l) => !groupHandlers.has(l as (signal: NodeJS.Signals) => void));
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
  private readonly signalHandler = (signal: NodeJS.Signals) => {
    if (!ownerHandles(signal)) void this.stop();
  };

  constructor(private readonly onUnexpectedExit?: (p: ManagedProcess, code: number | null) => void) {
    groupHandlers.add(this.signalHandler);
  }

  start(
    name: string,
    command: string,
    args: string[],
    opts: SpawnOptions & { logFile?: string } = {},
  ): ManagedProcess {
    // The child writes its log file itself: through a pipe, a parent whose event loop is busy
    // (a synchronous exec, a long computation) would stop draining it, and a chatty child
    // (containerd, kubelet) would block on a full pipe and freeze.
    const log = opts.logFile ? openSync(opts.logFile, 'a') : undefined;
    let child: ChildProcess;
    try {
      child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', command, ...args], {
        ...opts,
        stdio: ['ignore', log ?? 'ignore', log ?? 'ignore'],
      });
    } finally {
      if (log !== undefined) closeSync(log); // the child has its own copy
    }
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.once('error', () => resolve(-1));
    });
    const proc: ManagedProcess = { name, child, exited };
    void exited.then((code) => {
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
    groupHandlers.delete(this.signalHandler);
    for (const p of [...this.procs].reverse()) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
      p.child.kill('SIGTERM');
      const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
      await p.exited;
      clearTimeout(timer);
    }
  }
}
