import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startDevEnvironment, type DevEnvironment } from '../../src/infra/dev-environment.js';
import { startSystem, type RunningSystem } from '../../src/system.js';
import { writeWorkflowBundle } from '../../src/worker.js';
import { WorkerSupervisor } from './worker-supervisor.js';
import { writeControllerKubeconfig } from './controller-identity.js';
import { Kube } from '../../src/kube/client.js';
import { ensureDefaultStateStore } from '../../src/statestore/default-store.js';
import { freePorts } from '../../src/infra/ports.js';
import { startCollector, type Collector } from './otel-collector.js';

declare global {
  var __KRATIX_ENV__:
    | {
        env: DevEnvironment;
        dir: string;
        system: RunningSystem;
        worker: WorkerSupervisor;
        collector: Collector;
      }
    | undefined;
}

/**
 * One control plane (etcd + kube-apiserver), one Temporal dev server, the controller (in this
 * process) and a worker (a supervised child process) for the whole test run. Their addresses reach
 * the test files through environment variables.
 */
export default async function globalSetup(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kratix-test-'));
  const t0 = Date.now();
  const env = await startDevEnvironment({
    dir,
    onCrash: (name, code) =>
      console.error(`\n[test infra] ${name} exited unexpectedly (code ${code}); logs in ${dir}`),
  });
  // The controller and worker run as the ServiceAccount of deploy/rbac/controller.yaml, so every
  // integration test also proves that least-privilege RBAC is enough.
  const admin = Kube.fromFile(env.kubeconfigPath);
  const controllerKubeconfig = await writeControllerKubeconfig(admin, dir);
  admin.close();
  // Bundled once (as an image build would): worker starts and restarts then take about a second.
  const workflowBundle = path.join(dir, 'workflow-bundle.js');
  await writeWorkflowBundle(workflowBundle);
  // A real OTLP receiver: the controller and the worker export their spans to it (tracing test).
  const collector = await startCollector(dir);
  const [workerMetricsPort, temporalMetricsPort] = await freePorts(2);
  const worker = new WorkerSupervisor(
    dir,
    [
      '--kubeconfig',
      controllerKubeconfig,
      '--temporal-address',
      env.temporalAddress,
      '--work-dir',
      path.join(dir, 'runs'),
      '--executor',
      'local',
      '--metrics-address',
      `127.0.0.1:${workerMetricsPort}`,
      '--workflow-bundle',
      workflowBundle,
      '--temporal-metrics-address',
      `127.0.0.1:${temporalMetricsPort}`,
    ],
    // Short per-Promise intervals are allowed in tests (the product floor is 1 minute).
    {
      KRATIX_MIN_RECONCILIATION_INTERVAL: '1s',
      LOG_LEVEL: 'info',
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
    },
  );
  worker.start();
  const system = await startSystem({
    kubeconfig: controllerKubeconfig,
    temporal: env.temporal,
    workDir: path.join(dir, 'runs'),
    runWorker: false,
    relistIntervalMs: 60_000,
    stateStoreCheckIntervalMs: 2_000,
    metricsAddress: '127.0.0.1:0',
    tracing: { endpoint: collector.endpoint, serviceName: 'kratix-temporal-controller' },
  });
  process.env.KRATIX_TEST_CONTROLLER_METRICS_URL = system.metricsUrl;
  process.env.KRATIX_TEST_WORKER_METRICS_URL = `http://127.0.0.1:${workerMetricsPort}/metrics`;
  process.env.KRATIX_TEST_TEMPORAL_METRICS_URL = `http://127.0.0.1:${temporalMetricsPort}/metrics`;
  const { repo } = await ensureDefaultStateStore(Kube.fromFile(env.kubeconfigPath), dir);
  process.env.KRATIX_TEST_DEFAULT_REPO = repo;
  globalThis.__KRATIX_ENV__ = { env, dir, system, worker, collector };
  process.env.KRATIX_TEST_SPANS_FILE = collector.spansFile;
  process.env.KRATIX_TEST_DIR = dir;
  process.env.KRATIX_TEST_KUBECONFIG = env.kubeconfigPath;
  process.env.KRATIX_TEST_TEMPORAL_ADDRESS = env.temporalAddress;
  process.env.KRATIX_TEST_TEMPORAL_NAMESPACE = env.temporalNamespace;
  process.env.KRATIX_TEST_UI_URL = env.uiUrl ?? '';
  process.env.KRATIX_TEST_WORKER_PID_FILE = worker.pidFile;
  console.log(`\n[test infra] control plane + Temporal + controller up in ${Date.now() - t0} ms (${dir})`);
}
