import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Kube } from '../kube/client.js';
import { resolveContainerEnv } from '../kube/env.js';
import { serviceAccountKubeconfig } from '../kube/identity.js';
import { readPipelineDirs } from './pipeline-files.js';
import { spawner, SpawnError } from '../spawner/spawner.js';
import type { PipelineExecutor, PipelineRunOutcome, PipelineRunRequest } from './types.js';

/** One container of a pipeline run, resolved: command line and complete environment. */
export interface ContainerRun {
  name: string;
  image: string;
  /** command + args; empty when the container relies on its image's entrypoint. */
  argv: string[];
  env: Record<string, string>;
}

/** Host directories made visible read-only inside the sandbox so ordinary tools work. */
const HOST_DIRS = ['/bin', '/sbin', '/usr', '/lib', '/lib64', '/lib32', '/libx32', '/etc', '/opt'];
const SANDBOX_PATH = '/run/kratix/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

interface Progress {
  /** Containers that finished successfully, in order. */
  completed: number;
}

/**
 * Runs each container's command as a host process in its own mount and PID namespace (bubblewrap):
 * `/kratix/{input,output,metadata}` are the run's directories, the host is read-only, `/tmp` is
 * private, and `kubectl` talks to the API server as the pipeline's ServiceAccount. Images are not
 * pulled: this executor is for development and tests.
 */
export class LocalExecutor implements PipelineExecutor {
  readonly name = 'local';
  /** 5 s: runs take milliseconds; a run's first heartbeat is due then anyway (progress-beat.ts). */
  readonly handOffAfterMs = 5000;

  constructor(
    /** Undefined: no cluster (`kratix-temporal test`): literal env only, kubectl reaches nothing. */
    private readonly kube: Kube | undefined,
    private readonly opts: { bwrap?: string; kubectl?: string } = {},
  ) {}

  /** Runs in progress in this process, by run directory. */
  private static readonly running = new Map<string, { stop: AbortController; done: Promise<unknown> }>();

  /**
   * One attempt owns a run directory at a time: a retry that arrives while an older attempt of the
   * same run still runs here (the server gave up on its heartbeats, e.g. during a Temporal outage)
   * stops that attempt and waits for its processes to exit before it resumes the run.
   */
  async run(req: PipelineRunRequest): Promise<PipelineRunOutcome> {
    const earlier = LocalExecutor.running.get(req.runDir);
    if (earlier) {
      earlier.stop.abort();
      await earlier.done.catch(() => undefined);
    }
    const stop = new AbortController();
    const signal = AbortSignal.any([req.signal, stop.signal]);
    const done = this.runExclusively({ ...req, signal });
    const entry = { stop, done };
    LocalExecutor.running.set(req.runDir, entry);
    try {
      return await done;
    } finally {
      if (LocalExecutor.running.get(req.runDir) === entry) LocalExecutor.running.delete(req.runDir);
    }
  }

  private async runExclusively(req: PipelineRunRequest): Promise<PipelineRunOutcome> {
    // env/envFrom are resolved here, in the pipeline namespace: values reach the process
    // environment only (a missing Secret throws EnvResolutionError naming it).
    const containers: ContainerRun[] = await Promise.all(
      req.pipeline.spec.containers.map(async (c) => ({
        name: c.name!,
        image: c.image!,
        argv: [...(c.command ?? []), ...(c.args ?? [])],
        env: { ...(await resolveContainerEnv(this.kube, req.namespace, c)), ...req.traceEnv, ...req.baseEnv },
      })),
    );
    const kubeconfig = this.kube
      ? await serviceAccountKubeconfig(this.kube, {
          name: req.serviceAccount,
          namespace: req.namespace,
          cacheKey: req.identityKey,
        })
      : NO_CLUSTER_KUBECONFIG;
    try {
      return await this.runContainers(req, containers, kubeconfig);
    } finally {
      await rm(path.join(req.runDir, 'kubeconfig'), { force: true });
    }
  }

  private async runContainers(
    req: PipelineRunRequest,
    containers: ContainerRun[],
    kubeconfig: string,
  ): Promise<PipelineRunOutcome> {
    const dirs = await prepareRunDir(req, kubeconfig);
    const progressFile = path.join(req.runDir, 'progress.json');
    const progress: Progress = existsSync(progressFile)
      ? (JSON.parse(readFileSync(progressFile, 'utf8')) as Progress)
      : { completed: 0 };

    for (let i = progress.completed; i < containers.length; i++) {
      const c = containers[i]!;
      req.onProgress({ container: c.name, index: i });
      if (c.argv.length === 0) {
        return {
          ok: false,
          container: c.name,
          index: i,
          exitCode: null,
          message:
            `container "${c.name}" (${c.image}) has no command: the local executor runs commands on the host ` +
            'and cannot run an image entrypoint; set command/args or use the kubernetes executor',
        };
      }
      const logFile = path.join(req.runDir, 'logs', `${i}-${c.name}.log`);
      const exitCode = await this.runContainer(c, dirs, logFile, req);
      if (req.signal.aborted) throw new Error('pipeline run cancelled');
      if (exitCode !== 0) {
        return {
          ok: false,
          container: c.name,
          index: i,
          exitCode,
          message: `container "${c.name}" exited with code ${exitCode}`,
          logTail: logTail(logFile),
        };
      }
      progress.completed = i + 1;
      await writeFile(progressFile, JSON.stringify(progress));
    }
    return { ok: true, files: readPipelineDirs(dirs.output, req.withMetadata ? dirs.metadata : undefined) };
  }

  private runContainer(
    c: ContainerRun,
    dirs: RunDirs,
    logFile: string,
    req: PipelineRunRequest,
  ): Promise<number | null> {
    const args = sandboxArgs(dirs, c, { withMetadata: req.withMetadata, kubectl: this.opts.kubectl });
    return spawner
      .run({
        file: this.opts.bwrap ?? 'bwrap',
        args,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        outputFile: logFile,
        signal: req.signal,
      })
      .then(
        (r) => r.code ?? (r.signal ? 128 : null),
        (err: unknown) => {
          throw err instanceof SpawnError && err.code === 'ENOENT'
            ? new Error(
                'bubblewrap (bwrap) is not installed: the local executor needs it (Debian: apt-get install bubblewrap)',
              )
            : err;
        },
      );
  }
}

/** Pipelines run by `kratix-temporal test` have no cluster: kubectl fails at once, naming why. */
const NO_CLUSTER_KUBECONFIG = `# kratix-temporal test: no cluster
apiVersion: v1
kind: Config
clusters: [{ name: none, cluster: { server: "https://no-cluster.kratix-temporal-test.invalid" } }]
contexts: [{ name: none, context: { cluster: none, user: none } }]
users: [{ name: none, user: { token: no-cluster } }]
current-context: none
`;

/**
 * bubblewrap arguments that run `c` with `/kratix/{input,output,metadata}` bound to the run's
 * directories, the host read-only, private /tmp, PID/IPC/UTS namespaces and only `c.env` set.
 */
export function sandboxArgs(
  dirs: RunDirs,
  c: Pick<ContainerRun, 'argv' | 'env'>,
  opts: { withMetadata: boolean; kubectl?: string },
): string[] {
  return [
    '--tmpfs',
    '/',
    ...HOST_DIRS.filter(existsSync).flatMap((d) => ['--ro-bind', d, d]),
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--tmpfs',
    '/tmp',
    '--bind',
    dirs.input,
    '/kratix/input',
    '--bind',
    dirs.output,
    '/kratix/output',
    ...(opts.withMetadata ? ['--bind', dirs.metadata, '/kratix/metadata'] : []),
    '--ro-bind',
    dirs.kubeconfig,
    '/run/kratix/kubeconfig',
    ...(opts.kubectl ? ['--ro-bind', opts.kubectl, '/run/kratix/bin/kubectl'] : []),
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--die-with-parent',
    '--new-session',
    '--chdir',
    '/kratix',
    '--clearenv',
    ...Object.entries({
      PATH: SANDBOX_PATH,
      HOME: '/tmp',
      KUBECONFIG: '/run/kratix/kubeconfig',
      ...c.env,
    }).flatMap(([k, v]) => ['--setenv', k, v]),
    '--',
    ...c.argv,
  ];
}

export interface RunDirs {
  input: string;
  output: string;
  metadata: string;
  kubeconfig: string;
}

/**
 * The run's folders and input files. Asynchronous: under a burst of runs these file operations
 * block for milliseconds each, on the event loop every activity and heartbeat of the worker shares.
 */
async function prepareRunDir(req: PipelineRunRequest, kubeconfig: string): Promise<RunDirs> {
  const d = (name: string) => path.join(req.runDir, name);
  const fresh = !existsSync(d('progress.json'));
  await mkdir(req.runDir, { recursive: true });
  await Promise.all(
    ['input', 'output', 'metadata', 'logs'].map((name) => mkdir(d(name), { recursive: true })),
  );
  // object.yaml is written once per run; a resumed run keeps what earlier containers changed.
  await Promise.all([
    fresh ? writeFile(path.join(d('input'), 'object.yaml'), req.objectYaml) : undefined,
    writeFile(d('kubeconfig'), kubeconfig, { mode: 0o600 }),
  ]);
  return { input: d('input'), output: d('output'), metadata: d('metadata'), kubeconfig: d('kubeconfig') };
}

function logTail(file: string, max = 600): string {
  try {
    const text = readFileSync(file, 'utf8').trim();
    if (!text) return '';
    const tail = text.length > max ? `…${text.slice(-max)}` : text;
    return tail.replace(/\s+/g, ' ');
  } catch {
    return '';
  }
}
