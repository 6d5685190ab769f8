import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { logger } from './logger.js';

/** One registry per process: the controller's and the worker's figures plus Node process metrics. */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'kratix_temporal_' });

export const metrics = {
  watchEvents: new Counter({
    name: 'kratix_controller_watch_events_total',
    help: 'Watch events received by the controller, by object kind and event',
    labelNames: ['kind', 'event'] as const,
    registers: [registry],
  }),
  queueDepth: new Gauge({
    name: 'kratix_controller_queue_depth',
    help: 'Objects waiting, retrying or being handled in the controller work queue',
    registers: [registry],
  }),
  admissionWaiting: new Gauge({
    name: 'kratix_controller_admission_waiting',
    help: 'New objects waiting for a slot to start their first run (KRATIX_MAX_NEW_RUNS)',
    registers: [registry],
  }),
  handlerFailures: new Counter({
    name: 'kratix_controller_handler_failures_total',
    help: 'Controller handler failures (each is retried with backoff)',
    registers: [registry],
  }),
  pipelineRuns: new Counter({
    name: 'kratix_pipeline_runs_total',
    help: 'Pipeline executions by Promise, workflow type and action, and outcome',
    labelNames: ['promise', 'type', 'action', 'outcome'] as const,
    registers: [registry],
  }),
  pipelineSeconds: new Histogram({
    name: 'kratix_pipeline_duration_seconds',
    help: 'Wall time of pipeline executions (all containers)',
    labelNames: ['promise', 'type', 'action'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
    registers: [registry],
  }),
  stateStoreWrites: new Counter({
    name: 'kratix_state_store_writes_total',
    help: 'Writes of pipeline output to state stores by outcome (a commit only happens on change)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  }),
  kubeRequestRetries: new Counter({
    name: 'kratix_kube_request_retries_total',
    help: 'API requests repeated after a response body was reported cut short (node-fetch "Premature close")',
    registers: [registry],
  }),
  stateStoreBatch: new Histogram({
    name: 'kratix_state_store_batch_writes',
    help: 'Writes folded into one git commit and push (group commit; count = pushes)',
    buckets: [1, 2, 4, 8, 16, 32, 50],
    registers: [registry],
  }),
};

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** Serves /metrics (Prometheus text format) and /healthz on `address` ("host:port", port 0 = any). */
export async function startMetricsServer(address: string): Promise<MetricsServer> {
  const i = address.lastIndexOf(':');
  const host = i > 0 ? address.slice(0, i) : '0.0.0.0';
  const port = Number(address.slice(i + 1));
  const server = http.createServer((req, res) => {
    if (req.url === '/metrics') {
      registry
        .metrics()
        .then((body) => {
          res.writeHead(200, { 'Content-Type': registry.contentType });
          res.end(body);
        })
        .catch((err: unknown) => {
          res.writeHead(500);
          res.end(String(err));
        });
    } else if (req.url === '/healthz') {
      res.writeHead(200);
      res.end('ok');
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const bound = server.address() as AddressInfo;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${bound.port}/metrics`;
  logger.info({ url }, 'metrics served');
  return {
    url,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
