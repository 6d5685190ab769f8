import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import {
  connectTemporalClient,
  temporalDataConverter,
  type TemporalConnectionConfig,
} from '../temporal/connection.js';
import { workerTracing } from '../temporal/tracing.js';
import { workflowsPath } from '../worker.js';

export interface ReplayOptions {
  /** Needed with workflowId or query. */
  temporal: TemporalConnectionConfig;
  /** Workflow ids to fetch from the server. */
  workflowId?: string[];
  /** A visibility query, e.g. KratixPromise = "redis". */
  query?: string;
  /** History files: a Web UI / `temporal workflow show -o json` download, or test/histories/ format. */
  file?: string[];
}

export interface ReplayResult {
  workflowId: string;
  error?: string;
}

type HistoryInput = { workflowId: string; history: unknown };

function fromFile(file: string): HistoryInput {
  const json = JSON.parse(readFileSync(file, 'utf8')) as {
    workflowId?: string;
    history?: unknown;
    events?: unknown;
  };
  if (json.history && json.workflowId) return { workflowId: json.workflowId, history: json.history };
  if (json.events) return { workflowId: path.basename(file, '.json'), history: json };
  throw new Error(`${file}: not a workflow history (expected "events", or "workflowId" + "history")`);
}

/**
 * Replays workflow histories against this build's workflow code, as a worker would after a deploy:
 * a history that no longer replays means running workflows of that kind would fail their next
 * task (non-determinism). Nothing is executed: activities are not run, nothing is written.
 */
export async function replay(o: ReplayOptions): Promise<ReplayResult[]> {
  // The CLI prints results; the SDK's own INFO lines (bundling, worker state) would bury them.
  // The core logs each failed replay task as a WARN too: the FAIL line below says it once.
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, console: {} } },
  });
  const sources: HistoryInput[] = (o.file ?? []).map(fromFile);
  const remote = (o.workflowId?.length ?? 0) > 0 || !!o.query;
  const connection = remote ? await connectTemporalClient(o.temporal) : undefined;
  try {
    const client = connection && new Client({ connection, namespace: o.temporal.namespace });
    for (const id of o.workflowId ?? [])
      sources.push({ workflowId: id, history: await client!.workflow.getHandle(id).fetchHistory() });
    if (o.query) {
      for await (const h of client!.workflow.list({ query: o.query }).intoHistories()) sources.push(h);
    }
    if (sources.length === 0) throw new Error('nothing to replay: give --workflow-id, --query or --file');
    const results: ReplayResult[] = [];
    // Histories hold payloads as stored: encrypted ones are decrypted with the --payload-key-dir
    // keys. The workers' interceptors too: a traced history replays as a worker would run it.
    const replayOptions = {
      workflowsPath: workflowsPath(),
      dataConverter: temporalDataConverter(o.temporal),
      ...workerTracing({ workflowModule: true }),
    };
    for await (const r of Worker.runReplayHistories(replayOptions, sources as never)) {
      results.push({ workflowId: r.workflowId, ...(r.error ? { error: describe(r.error) } : {}) });
    }
    return results;
  } finally {
    await connection?.close();
  }
}

function describe(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string } };
  const text = [e.message, e.cause?.message].filter(Boolean).join(': ') || String(err);
  // The SDK wraps the useful sentence (e.g. "[TMPRL1100] Nondeterminism error: Activity type of
  // scheduled event ... does not match ...") in a debug dump of the activation; show just that.
  return /\[TMPRL\d+\][^"]*/.exec(text)?.[0]?.trim() ?? text;
}
