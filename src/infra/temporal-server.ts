import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { resolveBinary } from './binaries.js';
import { freePorts } from './ports.js';
import { ProcessGroup } from './process-group.js';
import { waitFor } from './wait.js';
import { SEARCH_ATTRIBUTE_NAMES } from '../core/search-attributes.js';
import { connectTemporalClient, plainTemporalConnection } from '../temporal/connection.js';

export interface TemporalServer {
  /** host:port of the gRPC frontend */
  address: string;
  uiUrl: string;
  namespace: string;
  ports: TemporalPorts;
  stop(): Promise<void>;
}

export interface TemporalPorts {
  port: number;
  uiPort: number;
  httpPort: number;
  metricsPort: number;
}

export interface TemporalServerOptions {
  /** Listen on these ports (e.g. those of a server being restarted); free ports by default. */
  ports?: TemporalPorts;
  /** Directory for the log file (and the SQLite file if `dbFile` is relative). */
  dir: string;
  /** Persist state in this SQLite file; in-memory when unset. */
  dbFile?: string;
  namespace?: string;
  /**
   * Listen on all addresses, not only loopback, so Pods on the local node reach the server at the
   * host's IP (the in-cluster install test); `address` stays the loopback one. Not `--ip=<host
   * IP>`: the dev server's internal services then still dial 127.0.0.1 and every workflow start
   * times out.
   */
  listenAll?: boolean;
  /** The Web UI decodes payloads with this remote codec (`kratix-temporal codec-server`). */
  uiCodecEndpoint?: string;
  onCrash?: (name: string, code: number | null) => void;
}

/** Starts `temporal server start-dev` on free loopback ports (all addresses with `listenAll`) with the Web UI and our search attributes. */
export async function startTemporalServer(opts: TemporalServerOptions): Promise<TemporalServer> {
  mkdirSync(opts.dir, { recursive: true });
  const bin = resolveBinary('temporal');
  const namespace = opts.namespace ?? 'default';
  // A restart (fault tests, `dev`) reuses the ports, so clients reconnect to the same address.
  const [port, uiPort, httpPort, metricsPort] = opts.ports
    ? [opts.ports.port, opts.ports.uiPort, opts.ports.httpPort, opts.ports.metricsPort]
    : ((await freePorts(4)) as [number, number, number, number]);
  const args = [
    'server',
    'start-dev',
    `--ip=${opts.listenAll ? '0.0.0.0' : '127.0.0.1'}`,
    `--port=${port}`,
    `--ui-port=${uiPort}`,
    `--http-port=${httpPort}`,
    `--metrics-port=${metricsPort}`,
    `--namespace=${namespace}`,
    '--log-level=warn',
    '--dynamic-config-value=frontend.enableServerVersionCheck=false',
    '--dynamic-config-value=frontend.enableUpdateWorkflowExecution=true',
    // The workflow task that schedules runPipeline hands it to the same worker in its reply: no
    // trip through matching (the worker reserves the slot; README, Benchmarks).
    '--dynamic-config-value=system.enableActivityEagerExecution=true',
    // start-dev turns this on so attributes created while it runs are seen at once; it costs a
    // cluster-metadata read per search-attribute lookup (~10 of the ~30 persistence operations of
    // a reconcile). Ours are start flags, known before the first read; attributes added later
    // (`install` into a new namespace) are seen within the minute, as on any other server.
    '--dynamic-config-value=system.forceSearchAttributesCacheRefreshOnRead=false',
    ...SEARCH_ATTRIBUTE_NAMES.map((name) => `--search-attribute=${name}=Keyword`),
  ];
  if (opts.uiCodecEndpoint) args.push(`--ui-codec-endpoint=${opts.uiCodecEndpoint}`);
  if (opts.dbFile)
    args.push(
      `--db-filename=${path.resolve(opts.dir, opts.dbFile)}`,
      // SQLite's defaults (a rollback journal, fsync at every commit) made each of the server's
      // many small transactions several writes and syncs. A write-ahead log synced at checkpoints
      // keeps every committed transaction across a crash of the server (what `dev` restarts it
      // from) and only risks the last ones on a power loss, which a dev server can take.
      '--sqlite-pragma=journal_mode=wal',
      '--sqlite-pragma=synchronous=normal',
    );
  const group = new ProcessGroup((p, code) => opts.onCrash?.(p.name, code));
  group.start('temporal', bin, args, { logFile: path.join(opts.dir, 'temporal.log') });
  const address = `127.0.0.1:${port}`;
  const uiUrl = `http://127.0.0.1:${uiPort}`;
  try {
    await waitFor('Temporal frontend', async () => {
      const conn = await connectTemporalClient(plainTemporalConnection(address, namespace), {
        connectTimeout: 2000,
      });
      try {
        await conn.workflowService.describeNamespace({ namespace });
        return true;
      } finally {
        await conn.close();
      }
    });
    await waitFor('Temporal Web UI', async () => ((await fetch(uiUrl)).ok ? true : undefined));
  } catch (err) {
    await group.stop();
    throw err;
  }
  return {
    address,
    uiUrl,
    namespace,
    ports: { port, uiPort, httpPort, metricsPort },
    stop: () => group.stop(),
  };
}
