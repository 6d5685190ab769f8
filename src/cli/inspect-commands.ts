// Registers `runs`, `retry` and `logs` on the CLI program.
import path from 'node:path';
import { Client } from '@temporalio/client';
import { Option, type Command } from 'commander';
import { Kube } from '../kube/client.js';
import {
  connectTemporalClient,
  resolveTemporalConnection,
  temporalDataConverter,
  type TemporalConnectionFlags,
} from '../temporal/connection.js';
import {
  listRuns,
  pickRun,
  readRuns,
  requestRetry,
  resolve,
  runLogs,
  warnUnread,
  type InspectContext,
} from './inspect.js';
import { formatLogs, formatRuns } from './inspect-output.js';
import { newRunSince } from './run-history.js';
import { describeTarget } from './targets.js';

interface InspectFlags extends TemporalConnectionFlags {
  kubeconfig?: string;
  namespace?: string;
  output: 'text' | 'json';
  webUi?: string;
}

async function withContext<T>(
  o: InspectFlags,
  fn: (ctx: InspectContext, ns: string) => Promise<T>,
): Promise<T> {
  const kube = Kube.fromFile(o.kubeconfig ?? process.env.KUBECONFIG);
  const temporal = resolveTemporalConnection(o);
  const connection = await connectTemporalClient(temporal);
  try {
    // Encrypted payloads (--payload-key-dir) are read with the same keys as the workers'.
    const client = new Client({
      connection,
      namespace: temporal.namespace,
      dataConverter: temporalDataConverter(temporal),
    });
    const ns = o.namespace ?? kube.kc.getContextObject(kube.kc.getCurrentContext())?.namespace ?? 'default';
    return await fn(
      { kube, client, temporalNamespace: temporal.namespace, webUi: o.webUi ?? process.env.TEMPORAL_WEB_UI },
      ns,
    );
  } finally {
    await connection.close();
    kube.close();
  }
}

const json = (v: unknown): void => {
  process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
};

/** `wrap` adds the kubeconfig and Temporal connection options main.ts gives every command. */
export function registerInspectCommands(program: Command, wrap: (cmd: Command) => Command): void {
  const common = (cmd: Command) =>
    wrap(cmd)
      .option(
        '-n, --namespace <ns>',
        "the Resource's namespace (default: the kubeconfig context's, else default)",
      )
      .option(
        '--web-ui <url>',
        'Temporal Web UI base URL for links to each run (env TEMPORAL_WEB_UI; `dev` prints it as "web ui")',
      )
      .addOption(
        new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'),
      );

  common(
    program
      .command('runs <target>')
      .description(
        "list a Resource's or Promise's runs (<kind>/<name>, e.g. redis/example, promise/redis): reason, outcome, start, duration, the failing pipeline and container",
      ),
  ).action((arg: string, o: InspectFlags) =>
    withContext(o, async (ctx, ns) => {
      const { target, object } = await resolve(ctx.kube, arg, ns);
      const runs = await listRuns(ctx, target, object);
      if (o.output === 'json') return json(runs);
      const gone = object ? '' : ' (not found in the cluster: runs of every incarnation)';
      process.stdout.write(formatRuns(`${describeTarget(target)}${gone}`, runs));
    }),
  );

  common(
    program
      .command('retry <target>')
      .description(
        're-run a Resource or Promise now (a failed delete: retry the delete), through the kratix.io/manual-reconciliation label',
      )
      .option('--wait <seconds>', 'wait this long for the new run to start (0: do not wait)', '60'),
  ).action((arg: string, o: InspectFlags & { wait: string }) =>
    withContext(o, async (ctx, ns) => {
      const { target, object } = await resolve(ctx.kube, arg, ns);
      if (!object) throw new Error(`${describeTarget(target)} not found`);
      const before = await readRuns(ctx, target, object);
      warnUnread(before.unread);
      const requestedAt = new Date();
      const { deleting } = await requestRetry(ctx.kube, target, object);
      const what = deleting ? 'delete' : 'configure run';
      const waitMs = Math.max(0, Number(o.wait) || 0) * 1000;
      const deadline = Date.now() + waitMs;
      let started;
      while (!started && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        // Warned once above, if at all.
        started = newRunSince((await readRuns(ctx, target, object)).runs, before, requestedAt);
      }
      if (o.output === 'json') return json({ requested: what, started: started ?? null });
      if (started)
        console.log(
          `${describeTarget(target)}: ${what} started (run ${started.run}, reason ${started.reason})${started.webUrl ? `\n  ${started.webUrl}` : ''}`,
        );
      else
        console.log(
          `${describeTarget(target)}: ${what} requested${waitMs ? `; not started within ${o.wait}s (a run in progress finishes first)` : ''}; see \`kratix-temporal runs ${arg}\``,
        );
    }),
  );

  common(
    program
      .command('logs <target>')
      .description(
        "print a run's pipeline container output (kubernetes executor: the Pods' logs; local executor: the worker's kept logs)",
      )
      .option('--run <n>', 'configure run number, or "delete" (default: the newest run)')
      .option('--pipeline <name>', 'only this pipeline')
      .option('--container <name>', 'only this container')
      .option(
        '--work-dir <dir>',
        "local executor: the worker's --work-dir (`dev`: <dir>/runs)",
        '.kratix-temporal/runs',
      ),
  ).action(
    (
      arg: string,
      o: InspectFlags & { run?: string; pipeline?: string; container?: string; workDir: string },
    ) =>
      withContext(o, async (ctx, ns) => {
        const { target, object } = await resolve(ctx.kube, arg, ns);
        const runs = await listRuns(ctx, target, object);
        const run = pickRun(runs, o.run);
        if (!run) throw new Error(`${describeTarget(target)}: ${o.run ? `no run ${o.run}` : 'no runs'}`);
        const logs = await runLogs(ctx.kube, target, run, {
          workDir: path.resolve(o.workDir),
          pipeline: o.pipeline,
          container: o.container,
        });
        if (o.output === 'json') return json({ run, logs });
        if (logs.length === 0) {
          process.exitCode = 1;
          console.error(
            `${describeTarget(target)} run ${run.run}: no logs found${o.pipeline || o.container ? ' for that pipeline/container' : ''} (kubernetes executor: finished Pods are kept per numberOfJobsToKeep; local executor: pass the worker's --work-dir)`,
          );
          return;
        }
        process.stdout.write(formatLogs(run, logs));
      }),
  );
}
