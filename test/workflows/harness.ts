// Workflow-level tests: the real workflow code on a real Temporal dev server, with every activity
// replaced by an in-memory fake of the same name and signature. One server and one workflow bundle
// per test file; one worker (its own task queue) per test, so each test has its own fakes.
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Runtime,
  Worker,
  type WorkerOptions,
  type WorkflowBundle,
} from '@temporalio/worker';
import type { Activities } from '../../activities/index.js';
import { DEFAULT_RECONCILIATION_INTERVAL_MS } from '../../src/core/constants.js';
import { SA } from '../../src/core/search-attributes.js';
import { resourceWorkflowId } from '../../src/core/names.js';
import type { ResourceRef } from '../../src/core/types.js';
import { resolveBinary } from '../../src/infra/binaries.js';
import { workflowsPath } from '../../src/worker.js';
import { changedSignal, type LifecycleState } from '../../workflows/definitions.js';
import type { resourceLifecycle } from '../../workflows/resource-lifecycle.js';
import { waitUntil } from '../support/promises.js';

export type FakeActivities = {
  [K in keyof Activities]: (...args: Parameters<Activities[K]>) => ReturnType<Activities[K]>;
};
export type ActivityName = keyof Activities;

export interface Call {
  name: ActivityName;
  /** The single input object every activity takes. */
  input: Record<string, unknown>;
  /**
   * The run it belongs to: its input's `runId` when it has one (a configure run inside the
   * lifecycle, or a child run), else the workflow that scheduled it.
   */
  workflowId: string;
}

export interface Fakes {
  activities: FakeActivities;
  calls: Call[];
  /** The calls of one activity, in order. */
  of(name: ActivityName): Call[];
  /** Activity names in call order (optionally only those scheduled by workflows matching `idPrefix`). */
  names(idPrefix?: string): string[];
}

/** Two configure pipelines, a delete pipeline, a long reconcile interval: nothing happens unasked. */
function defaults(): FakeActivities {
  return {
    startConfigureRun: async () => ({
      gone: false,
      intervalMs: DEFAULT_RECONCILIATION_INTERVAL_MS,
      pipelines: [
        { name: 'first', containers: 1 },
        { name: 'second', containers: 2 },
      ],
    }),
    startDeleteRun: async () => ({ gone: false, pipeline: { name: 'cleanup', containers: 1 } }),
    ensurePipelineIdentity: async (input) => ({ serviceAccount: `sa-${input.pipeline}`, namespace: 'ns' }),
    runPipeline: async () => ({ gone: false, files: 0 }),
    completeConfigureRun: async () => undefined,
    markDeleteBlocked: async () => undefined,
    finishResourceDelete: async () => undefined,
    installPromise: async () => ({ gone: false, intervalMs: DEFAULT_RECONCILIATION_INTERVAL_MS }),
    rerunPromiseResources: async () => ({ resources: 0 }),
    deleteResourcesOfPromise: async () => ({ deleted: 0 }),
    removeFromStateStores: async () => undefined,
    finishPromiseDelete: async () => undefined,
    markPaused: async () => undefined,
    finishReconcileResources: async () => undefined,
  } as FakeActivities;
}

/** The fakes of every activity: `overrides` replace the defaults; every call is recorded. */
export function fakeActivities(overrides: Partial<FakeActivities> = {}): Fakes {
  const calls: Call[] = [];
  const impl = { ...defaults(), ...overrides } as Record<string, (input: unknown) => Promise<unknown>>;
  const activities = Object.fromEntries(
    Object.entries(impl).map(([name, fn]) => [
      name,
      (input: Record<string, unknown>) => {
        calls.push({
          name: name as ActivityName,
          input,
          workflowId:
            typeof input.runId === 'string'
              ? input.runId
              : (Context.current().info.workflowExecution?.workflowId ?? ''),
        });
        return fn(input);
      },
    ]),
  ) as unknown as FakeActivities;
  return {
    activities,
    calls,
    of: (name) => calls.filter((c) => c.name === name),
    names: (idPrefix) =>
      calls.filter((c) => idPrefix === undefined || c.workflowId.startsWith(idPrefix)).map((c) => c.name),
  };
}

/** A fake pipeline that heartbeats until the test releases it or the workflow cancels it. */
export class Gate {
  private open!: () => void;
  readonly opened = new Promise<void>((resolve) => (this.open = resolve));
  entered = false;
  cancelled = false;

  release(): void {
    this.open();
  }

  /** Waits inside an activity: resolves on release, throws the CancelledFailure on cancellation. */
  async hold(): Promise<void> {
    this.entered = true;
    const ctx = Context.current();
    const beat = setInterval(() => ctx.heartbeat(), 50);
    try {
      ctx.heartbeat();
      await Promise.race([this.opened, ctx.cancelled]);
    } catch (err) {
      this.cancelled = true;
      throw err;
    } finally {
      clearInterval(beat);
    }
  }
}

export interface WorkflowTestEnv {
  env: TestWorkflowEnvironment;
  bundle: WorkflowBundle;
  /** A worker on a fresh task queue with these fakes; `fn` runs while it polls. */
  withWorker<T>(
    fakes: Fakes,
    fn: (taskQueue: string) => Promise<T>,
    options?: Partial<WorkerOptions>,
  ): Promise<T>;
  /** A worker not yet running, for tests that start and stop it themselves. */
  worker(fakes: Fakes, taskQueue: string, options?: Partial<WorkerOptions>): Promise<Worker>;
  teardown(): Promise<void>;
}

let runtimeInstalled = false;

/** The Temporal dev server (the binary scripts/setup.sh built) with our search attributes, and the bundle. */
export async function startWorkflowTestEnv(): Promise<WorkflowTestEnv> {
  if (!runtimeInstalled) {
    // Before the environment creates the Runtime: only warnings from core and the workers.
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    runtimeInstalled = true;
  }
  const [env, { code }] = await Promise.all([
    TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: resolveBinary('temporal') },
        searchAttributes: Object.values(SA),
        // No internet: no version check.
        extraArgs: ['--dynamic-config-value', 'frontend.enableServerVersionCheck=false'],
      },
    }),
    bundleWorkflowCode({ workflowsPath: workflowsPath(), logger: new DefaultLogger('WARN') }),
  ]);
  const bundle = { code };
  const worker = (fakes: Fakes, taskQueue: string, options: Partial<WorkerOptions> = {}) =>
    Worker.create({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue,
      workflowBundle: bundle,
      activities: fakes.activities,
      // Cancellation reaches an activity with a heartbeat response: let heartbeats through at once.
      maxHeartbeatThrottleInterval: '50 ms',
      defaultHeartbeatThrottleInterval: '50 ms',
      ...options,
    });
  return {
    env,
    bundle,
    worker,
    async withWorker(fakes, fn, options) {
      const taskQueue = `wf-test-${randomUUID()}`;
      const w = await worker(fakes, taskQueue, options);
      return w.runUntil(fn(taskQueue));
    },
    teardown: () => env.teardown(),
  };
}

/** Polls `check` until it returns something other than undefined/false (every 50 ms). */
export function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 15_000,
): Promise<T> {
  return waitUntil(what, check, timeoutMs, 50);
}

/** Waits until the lifecycle's `state` query satisfies `pred`, and returns that state. */
export function stateWhere(
  handle: WorkflowHandle,
  what: string,
  pred: (s: LifecycleState) => boolean,
  timeoutMs?: number,
): Promise<LifecycleState> {
  return eventually(
    what,
    async () => {
      const s = await handle.query<LifecycleState>('state');
      return pred(s) ? s : undefined;
    },
    timeoutMs,
  );
}

export function resourceRef(name: string): ResourceRef {
  return {
    promise: 'redis',
    group: 'marketplace.kratix.io',
    version: 'v1alpha1',
    kind: 'Redis',
    plural: 'redis',
    namespace: 'team-a',
    name,
    uid: randomUUID(),
  };
}

/** What the controller does for a new Resource: signalWithStart `changed`. */
export function startLifecycle(
  client: Client,
  taskQueue: string,
  ref: ResourceRef,
  opts: { generation?: number; specHash?: string; state?: LifecycleState; childRuns?: boolean } = {},
): Promise<WorkflowHandle<typeof resourceLifecycle>> {
  return client.workflow.signalWithStart<
    typeof resourceLifecycle,
    [{ generation: number; specHash: string }]
  >('resourceLifecycle', {
    workflowId: resourceWorkflowId(ref),
    taskQueue,
    // As the controller starts it: configure runs inline. `childRuns`: as lifecycles recorded
    // before that (each run a child workflow), still running somewhere after an upgrade.
    args: [
      { ref, ...(opts.childRuns ? {} : { inlineRuns: true }), ...(opts.state ? { state: opts.state } : {}) },
    ],
    signal: changedSignal,
    signalArgs: [{ generation: opts.generation ?? 1, specHash: opts.specHash ?? 'h1' }],
  });
}
