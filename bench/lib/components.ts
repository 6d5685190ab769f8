// The controller and the worker as separate processes, started like `kratix-temporal controller` /
// `worker` are in production: their CPU and memory are measured on their own, and they can be
// stopped (SIGTERM) and started again to measure a restart.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../src/infra/ports.js';
import { waitFor } from '../../src/infra/wait.js';
import { PACKAGE_ROOT as projectRoot } from '../../src/package-root.js';

export interface Component {
  name: 'controller' | 'worker';
  pid: number;
  metricsUrl: string;
  stop(): Promise<void>;
}

export interface ComponentOptions {
  kubeconfig: string;
  temporalAddress: string;
  workDir: string;
  workflowBundle: string;
  logDir: string;
}

/**
 * How the components run: compiled, with plain `node`, as the image runs them (`npm run build`
 * first). Run from source through tsx (BENCH_FROM_SOURCE=1) Node maps every stack trace and every
 * compiled function through source maps, and the Temporal SDK's workflow promise hook compiles a
 * function and takes a stack trace for each promise: a worker measured so costs more than one in
 * production does.
 */
export function componentEntry(): string[] {
  if (process.env.BENCH_FROM_SOURCE) return ['--import', 'tsx', path.join(projectRoot, 'src/cli/main.ts')];
  execFileSync(
    process.execPath,
    [path.join(projectRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'],
    {
      cwd: projectRoot,
      stdio: 'inherit',
    },
  );
  return [path.join(projectRoot, 'dist/src/cli/main.js')];
}

/** Starts `kratix-temporal <name>` and waits until its /healthz answers. */
export async function startComponent(
  name: Component['name'],
  o: ComponentOptions,
  entry: string[],
): Promise<Component> {
  const port = await freePort();
  // BENCH_CPU_PROF=<dir>: V8 CPU profiles of both processes, written when they stop.
  const prof = process.env.BENCH_CPU_PROF;
  // BENCH_NODE_FLAGS: extra Node/V8 flags for both processes (e.g. heap tuning experiments).
  const flags = (process.env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
  const args = [
    ...flags,
    ...(prof ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(prof)] : []),
    ...entry,
    name,
    '--kubeconfig',
    o.kubeconfig,
    '--temporal-address',
    o.temporalAddress,
    '--metrics-address',
    `127.0.0.1:${port}`,
    ...(name === 'worker'
      ? ['--executor', 'local', '--work-dir', o.workDir, '--workflow-bundle', o.workflowBundle]
      : []),
  ];
  const log = createWriteStream(path.join(o.logDir, `${name}.log`), { flags: 'a' });
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: projectRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const metricsUrl = `http://127.0.0.1:${port}`;
  await waitFor(
    `${name} healthy`,
    async () => {
      if (child.exitCode !== null)
        throw new Error(`${name} exited with ${child.exitCode}: see ${String(log.path)}`);
      return fetch(`${metricsUrl}/healthz`).then(
        (r) => (r.ok ? true : undefined),
        () => undefined,
      );
    },
    { timeoutMs: 120_000, intervalMs: 200 },
  );
  return {
    name,
    pid: child.pid!,
    metricsUrl,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      log.end();
    },
  };
}

/** A Prometheus metric's value (summed over label sets matching `filter`) from a /metrics page. */
export async function metricValue(url: string, metric: string, filter = ''): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(metric)) continue;
    const rest = line.slice(metric.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    if (filter && !line.includes(filter)) continue;
    total += Number(line.split(' ').pop());
  }
  return total;
}
