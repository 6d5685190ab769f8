// A control plane, a Temporal server and kratix-temporal (local executor) of a test file's own, for
// tests that restart or reconfigure them (doing that to the shared environment would disturb every
// other test), with one Promise whose Resources live in `default`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { Condition, KubeObject } from '../../src/core/types.js';
import { startControlPlane, type ControlPlane } from '../../src/infra/control-plane.js';
import { startTemporalServer, type TemporalServer } from '../../src/infra/temporal-server.js';
import { Kube } from '../../src/kube/client.js';
import { ensureDefaultStateStore } from '../../src/statestore/default-store.js';
import { startSystem, type RunningSystem, type SystemOptions } from '../../src/system.js';
import { plainTemporalConnection } from '../../src/temporal/connection.js';
import { promiseFor, type TestApi } from './sample-promise.js';
import { waitUntil } from './promises.js';

export class OwnEnvironment {
  readonly dir: string;
  cp!: ControlPlane;
  temporal!: TemporalServer;
  system: RunningSystem | undefined;
  co!: k8s.CustomObjectsApi;

  constructor(
    readonly api: TestApi,
    prefix: string,
    private readonly systemOptions: Partial<SystemOptions> = {},
    /** Temporal keeps its state in this SQLite file under the folder (restarts keep workflows). */
    readonly temporalDbFile?: string,
  ) {
    this.dir = mkdtempSync(path.join(process.env.KRATIX_TEST_DIR ?? tmpdir(), `${prefix}-`));
  }

  get coords() {
    const { group, version, plural } = this.api;
    return { group, version, plural, namespace: 'default' };
  }

  /** Starts everything and installs the Promise with these configure pipelines. */
  async start(pipelines: unknown[]): Promise<void> {
    this.cp = await startControlPlane({ dir: path.join(this.dir, 'cp') });
    this.temporal = await this.startTemporal();
    await this.startSystem();
    await ensureDefaultStateStore(Kube.fromFile(this.cp.kubeconfigPath), this.dir);
    await this.co.createClusterCustomObject({
      group: 'platform.kratix.io',
      version: 'v1alpha1',
      plural: 'promises',
      body: promiseFor(this.api, { workflows: { resource: { configure: pipelines as never } } }),
    });
    await waitUntil('the Promise API', () =>
      this.co.listNamespacedCustomObject(this.coords).then(() => true),
    );
  }

  /** A Temporal server on this folder's state; `ports` to come back where clients expect it. */
  startTemporal(ports?: TemporalServer['ports']): Promise<TemporalServer> {
    return startTemporalServer({
      dir: path.join(this.dir, 'temporal'),
      ...(this.temporalDbFile ? { dbFile: this.temporalDbFile } : {}),
      ...(ports ? { ports } : {}),
    });
  }

  async startSystem(): Promise<void> {
    this.system = await startSystem({
      kubeconfig: this.cp.kubeconfigPath,
      temporal: plainTemporalConnection(this.temporal.address),
      workDir: path.join(this.dir, 'runs'),
      executor: 'local',
      leaderElection: false,
      ...this.systemOptions,
    });
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(this.cp.kubeconfigPath);
    this.co = kc.makeApiClient(k8s.CustomObjectsApi);
  }

  get(name: string): Promise<KubeObject> {
    return this.co.getNamespacedCustomObject({ ...this.coords, name }) as Promise<KubeObject>;
  }

  create(name: string, spec: Record<string, unknown> = {}): Promise<unknown> {
    const { group, version, kind } = this.api;
    return this.co.createNamespacedCustomObject({
      ...this.coords,
      body: { apiVersion: `${group}/${version}`, kind, metadata: { name }, spec },
    });
  }

  /** The object once PipelineCompleted=True (for `generation`, if given). */
  completed(name: string, opts: { generation?: number; timeoutMs?: number } = {}): Promise<KubeObject> {
    return waitUntil(
      `${name} PipelineCompleted=True`,
      async () => {
        const o = await this.get(name);
        const c = (o.status?.conditions as Condition[] | undefined)?.find(
          (x) => x.type === 'PipelineCompleted',
        );
        const generationOk =
          opts.generation === undefined || o.status?.observedGeneration === opts.generation;
        return c?.status === 'True' && generationOk ? o : undefined;
      },
      opts.timeoutMs ?? 120_000,
    );
  }

  async stop(): Promise<void> {
    await this.system?.stop();
    await this.temporal?.stop();
    await this.cp?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
