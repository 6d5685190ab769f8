// Runs short-lived processes (pipeline containers on the local executor, git) from a small helper
// process instead of the worker itself. Starting a process forks its parent, and forking a worker
// with hundreds of MiB resident costs tens of milliseconds of CPU each time, on the worker's event
// loop: measured at ~70 ms per reconcile, the largest single cost of the worker (bench/run.ts, CPU
// profile). The helper is a few MiB of plain JavaScript that only spawns, so a fork of it is cheap.
import { spawn, type ChildProcess } from 'node:child_process';

export interface ProcessRequest {
  file: string;
  args: string[];
  cwd?: string;
  /** The complete environment of the process. */
  env: Record<string, string>;
  /** Append stdout and stderr to this file instead of capturing them. */
  outputFile?: string;
  /** Bytes of stdout/stderr kept each when captured (default 64 MiB). */
  maxBuffer?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface ProcessResult {
  /** Exit code; null when killed by a signal. */
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** The helper's program (CommonJS, no dependencies), run with `node -e`. */
const HELPER = String.raw`
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const running = new Map();
process.on('disconnect', () => {
  for (const c of running.values()) c.kill('SIGKILL');
  process.exit(0);
});
process.on('message', (m) => {
  if (m.kill !== undefined) {
    running.get(m.kill)?.kill(m.signal || 'SIGKILL');
    return;
  }
  let fd;
  try {
    if (m.outputFile) fd = fs.openSync(m.outputFile, 'a');
    const out = fd === undefined ? 'pipe' : fd;
    const child = spawn(m.file, m.args, { cwd: m.cwd, env: m.env, stdio: ['ignore', out, out] });
    if (fd !== undefined) fs.closeSync(fd);
    running.set(m.id, child);
    const keep = (name) => {
      const chunks = [];
      let size = 0;
      child[name]?.on('data', (d) => {
        if (size < m.maxBuffer) chunks.push(d);
        size += d.length;
      });
      return () => Buffer.concat(chunks).subarray(0, m.maxBuffer).toString('utf8');
    };
    const stdout = keep('stdout');
    const stderr = keep('stderr');
    child.once('error', (err) => {
      running.delete(m.id);
      process.send({ id: m.id, error: { code: err.code, message: err.message } });
    });
    child.once('close', (code, signal) => {
      running.delete(m.id);
      process.send({ id: m.id, code, signal, stdout: stdout(), stderr: stderr() });
    });
  } catch (err) {
    if (fd !== undefined) try { fs.closeSync(fd); } catch {}
    process.send({ id: m.id, error: { code: err.code, message: err.message } });
  }
});
`;

interface Reply {
  id: number;
  code?: number | null;
  signal?: string | null;
  stdout?: string;
  stderr?: string;
  error?: { code?: string; message: string };
}

/** An error starting the process (e.g. ENOENT: not installed), like child_process's. */
export class SpawnError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

export class Spawner {
  private helper?: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, (r: Reply) => void>();

  private start(): ChildProcess {
    if (this.helper && this.helper.connected) return this.helper;
    const helper = spawn(process.execPath, ['-e', HELPER], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    helper.on('message', (r: Reply) => {
      const done = this.pending.get(r.id);
      this.pending.delete(r.id);
      done?.(r);
    });
    const lost = () => {
      if (this.helper === helper) this.helper = undefined;
      // Processes it ran died with it: their callers see a failure and retry.
      for (const [id, done] of this.pending) done({ id, error: { message: 'process runner exited' } });
      this.pending.clear();
    };
    helper.once('exit', lost);
    helper.once('error', lost);
    // The helper keeps this process alive only while it runs something for it.
    helper.unref();
    this.helper = helper;
    this.refWhileBusy();
    return helper;
  }

  private refWhileBusy(): void {
    const channel = this.helper?.channel as { ref?: () => void; unref?: () => void } | undefined;
    if (this.pending.size > 0) channel?.ref?.();
    else channel?.unref?.();
  }

  /** Runs a process to completion in the helper. */
  run(req: ProcessRequest): Promise<ProcessResult> {
    const helper = this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      let timedOut = false;
      const kill = () => helper.connected && helper.send({ kill: id, signal: 'SIGKILL' });
      const onAbort = () => kill();
      req.signal?.addEventListener('abort', onAbort, { once: true });
      const timer =
        req.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              timedOut = true;
              kill();
            }, req.timeoutMs);
      this.pending.set(id, (r) => {
        clearTimeout(timer);
        this.refWhileBusy();
        req.signal?.removeEventListener('abort', onAbort);
        if (r.error) return reject(new SpawnError(`${req.file}: ${r.error.message}`, r.error.code));
        resolve({
          code: r.code ?? null,
          signal: r.signal ?? null,
          stdout: r.stdout ?? '',
          stderr: r.stderr ?? '',
          timedOut,
        });
      });
      this.refWhileBusy();
      helper.send({
        id,
        file: req.file,
        args: req.args,
        cwd: req.cwd,
        env: req.env,
        outputFile: req.outputFile,
        maxBuffer: req.maxBuffer ?? 64 * 1024 * 1024,
      });
      if (req.signal?.aborted) kill();
    });
  }

  stop(): void {
    this.helper?.kill();
    this.helper = undefined;
  }
}

/** The process-wide runner. */
export const spawner = new Spawner();
