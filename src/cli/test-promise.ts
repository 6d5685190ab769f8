// `kratix-temporal test`: a Promise's pipelines against example Resources with no cluster and no
// Temporal server. Each step is the one a real run takes (pipeline list and env from
// pipeline-factory, the executor, output validation, status merge, Destination scheduling, the
// status patches and Event messages of src/core/run-status.ts); only the object lives in memory
// instead of the API server, and output goes to a folder instead of a state store.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { apiTarget } from '../core/crd.js';
import { dependenciesOutputDir, resourceOutputDir, type DestinationInfo } from '../core/destinations.js';
import { planOutput, recordedFor, staticDependencyFiles } from '../core/output-plan.js';
import { outputGroups, SelectorFileError } from '../core/output-groups.js';
import { parseWorkflowControl, WORKFLOW_CONTROL_FILE } from '../core/workflow-control.js';
import { withUpstreamStatus, WORKS_SUCCEEDED } from '../core/upstream-status.js';
import {
  pipelineEnv,
  pipelineIdentity,
  pipelineInputYaml,
  pipelinesFor,
  type PipelineSubject,
} from '../core/pipeline-factory.js';
import { pipelineSettings } from '../core/pipeline-settings.js';
import { formatDuration } from '../core/duration.js';
import {
  applyMergePatch,
  conditionsWith,
  failedEventMessage,
  outcomeFailureDetail,
  pipelineFailedStatus,
  pipelineSucceededStatus,
  runCompletedStatus,
  runStartedStatus,
  RUN_EVENTS,
  withPhase,
} from '../core/run-status.js';
import { KRATIX_GROUP, KRATIX_VERSION } from '../core/constants.js';
import { fnv1a } from '../core/names.js';
import type {
  CrdSpec,
  KratixPromise,
  KubeObject,
  Pipeline,
  WorkflowAction,
  WorkflowType,
} from '../core/types.js';
import { validatePromise } from '../core/validation.js';
import {
  collectConfigureResult,
  PipelineOutputError,
  type CollectedResult,
  type OutputFile,
} from '../executors/collect.js';
import { LocalExecutor } from '../executors/local.js';
import type { PipelineExecutor } from '../executors/types.js';
import { EnvResolutionError } from '../kube/env.js';
import { findPromise, parseDocuments, prepareResource, testDestinations } from './test-input.js';

export interface TestEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface TestObjectReport {
  kind: string;
  name: string;
  namespace?: string;
  ok: boolean;
  /** What failed, as the object's message says it. */
  error?: string;
  status: Record<string, unknown>;
  /** Output files by Destination, paths as in the state store (relative to --out). */
  files: { destination: string; path: string }[];
  events: TestEvent[];
  /** With --delete: the delete pipeline's outcome. */
  delete?: { ok: boolean; error?: string; events: TestEvent[]; status?: Record<string, unknown> };
}

export interface TestReport {
  ok: boolean;
  out: string;
  destinations: DestinationInfo[];
  objects: TestObjectReport[];
}

export interface TestOptions {
  promiseFile: string;
  resourceFiles: string[];
  delete?: boolean;
  destinations?: string[];
  /** Where output files go (default: a new temporary folder). */
  out?: string;
  /** Default: the local executor without a cluster. */
  executor?: PipelineExecutor;
  /** Called before each pipeline runs (the kubernetes executor: apply its ServiceAccount and RBAC). */
  prepare?: (subject: PipelineSubject, pipeline: Pipeline) => Promise<void>;
  /** Where pipeline run folders go (default: a temporary folder, removed afterwards). */
  workDir?: string;
  /** Pipelines still running when this aborts are killed. */
  signal?: AbortSignal;
  now?: () => string;
}

/** A stable fake uid per object: pipelines may print it, and reruns should be comparable. */
const fakeUid = (s: string) => `00000000-0000-4000-8000-${fnv1a(s).toString(16).padStart(12, '0')}`;

export async function testPromise(opts: TestOptions): Promise<TestReport> {
  const promise = findPromise(
    parseDocuments(readFileSync(opts.promiseFile, 'utf8'), opts.promiseFile),
    opts.promiseFile,
  );
  promise.metadata = { ...promise.metadata, generation: promise.metadata.generation ?? 1 };
  promise.metadata.uid ??= fakeUid(`promise/${promise.metadata.name}`);
  const problems = validatePromise(promise);
  if (problems.length) throw new Error(`Promise ${promise.metadata.name} is invalid: ${problems.join('; ')}`);
  const resources = opts.resourceFiles.flatMap((f) =>
    parseDocuments(readFileSync(f, 'utf8'), f).map((d) => prepareResource(promise, d, f)),
  );
  const destinations = testDestinations(opts.destinations ?? [], promise);
  const out = path.resolve(opts.out ?? mkdtempSync(path.join(tmpdir(), 'kratix-test-out-')));
  mkdirSync(out, { recursive: true });
  const ownWorkDir = !opts.workDir;
  const workDir = opts.workDir ?? mkdtempSync(path.join(tmpdir(), 'kratix-test-runs-'));
  const ctx: RunContext = {
    promise,
    destinations,
    out,
    workDir,
    executor: opts.executor ?? new LocalExecutor(undefined),
    prepare: opts.prepare,
    signal: opts.signal ?? new AbortController().signal,
    now: opts.now ?? (() => new Date().toISOString()),
  };
  const objects: TestObjectReport[] = [];
  try {
    const promiseReport = await runPromise(ctx);
    if (promiseReport) objects.push(promiseReport);
    // Resources run once their Promise is configured, as in a cluster.
    if (!promiseReport || promiseReport.ok)
      for (const r of resources) {
        const report = await runObject(ctx, r, 'resource');
        if (opts.delete && report.ok) report.delete = await runDelete(ctx, r, report);
        objects.push(report);
      }
    if (opts.delete && promiseReport?.ok && promiseHas(promise, 'promise', 'delete'))
      promiseReport.delete = await runDelete(ctx, promiseObject(promise), promiseReport);
  } finally {
    if (ownWorkDir) rmSync(workDir, { recursive: true, force: true });
  }
  return {
    ok: objects.every((o) => o.ok && (o.delete?.ok ?? true)),
    out,
    destinations,
    objects,
  };
}

interface RunContext {
  promise: KratixPromise;
  destinations: DestinationInfo[];
  out: string;
  workDir: string;
  executor: PipelineExecutor;
  prepare?: TestOptions['prepare'];
  signal: AbortSignal;
  now: () => string;
}

const promiseHas = (p: KratixPromise, type: WorkflowType, action: WorkflowAction) =>
  pipelinesFor(p, type, action).length > 0;

function promiseObject(promise: KratixPromise): KubeObject {
  return structuredClone({ ...promise, status: promise.status ?? {} }) as KubeObject;
}

/** The Promise's own configure run (and its static dependencies), if it has either. */
async function runPromise(ctx: RunContext): Promise<TestObjectReport | undefined> {
  const { promise } = ctx;
  const deps = staticDependencyFiles(promise.spec?.dependencies);
  if (!promiseHas(promise, 'promise', 'configure') && deps.length === 0) return undefined;
  const obj = promiseObject(promise);
  const report = newReport(obj);
  if (deps.length) {
    const record = schedule(ctx, report, obj, 'promise', 'static', deps, undefined);
    // Recorded like a pipeline's, as the worker records them.
    if (record && Object.keys(record).length) patch(obj, { kratix: { destinations: record } });
  }
  return runConfigure(ctx, obj, 'promise', report);
}

async function runObject(ctx: RunContext, obj: KubeObject, type: WorkflowType): Promise<TestObjectReport> {
  obj.metadata.uid ??= fakeUid(`${obj.metadata.namespace}/${obj.metadata.name}`);
  obj.status ??= {};
  return runConfigure(ctx, obj, type, newReport(obj));
}

function newReport(obj: KubeObject): TestObjectReport {
  return {
    kind: obj.kind,
    name: obj.metadata.name,
    ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
    ok: true,
    status: {},
    files: [],
    events: [],
  };
}

function subjectOf(
  promise: KratixPromise,
  obj: KubeObject,
  type: WorkflowType,
  action: WorkflowAction,
): PipelineSubject {
  if (type === 'promise')
    return {
      promise: promise.metadata.name,
      type,
      action,
      group: KRATIX_GROUP,
      version: KRATIX_VERSION,
      kind: 'Promise',
      plural: 'promises',
      name: promise.metadata.name,
    };
  const t = apiTarget(promise.spec?.api as { spec?: CrdSpec } | undefined)!;
  return {
    promise: promise.metadata.name,
    type,
    action,
    group: t.group,
    version: t.version,
    kind: t.kind,
    plural: t.plural,
    name: obj.metadata.name,
    namespace: obj.metadata.namespace,
  };
}

/** A status merge patch, with upstream's conditions and counters derived as the worker's patches have them. */
const patch = (obj: KubeObject, p: Record<string, unknown>) => {
  obj.status = applyMergePatch(obj.status ?? {}, withUpstreamStatus(p, new Date().toISOString())) as Record<
    string,
    unknown
  >;
};

/**
 * Schedules a pipeline's output as the worker does (per-directory groups, sticky Destinations) and
 * writes it to --out. Returns what to record in `status.kratix.destinations`; undefined: the run
 * failed (selectors refused, or no Destination for a Resource: a cluster would wait for one).
 */
function schedule(
  ctx: RunContext,
  report: TestObjectReport,
  obj: KubeObject,
  type: WorkflowType,
  pipeline: string,
  files: OutputFile[],
  selectors: CollectedResult['destinationSelectors'],
): Record<string, string | null> | undefined {
  let groups;
  try {
    groups = outputGroups(files, ctx.promise.spec?.destinationSelectors, selectors);
  } catch (err) {
    if (!(err instanceof SelectorFileError)) throw err;
    fail(ctx, obj, report, 'configure', pipeline, err.message);
    return undefined;
  }
  const recorded = recordedFor(obj, pipeline);
  if (files.length === 0 && Object.keys(recorded).length === 0) return {};
  const plan = planOutput<OutputFile>({
    isPromise: type === 'promise',
    pipeline,
    groups,
    destinations: ctx.destinations,
    recorded,
  });
  if (plan.kind === 'wait') {
    warn(report, 'NoMatchingDestination', plan.message);
    patch(obj, {
      message: plan.message,
      conditions: conditionsWith(
        obj,
        { type: WORKS_SUCCEEDED, status: 'Unknown', reason: 'WorksPending', message: plan.message },
        ctx.now(),
      ),
    });
    report.ok = false;
    report.error = `${plan.message} (give one with --destination)`;
    return undefined;
  }
  for (const message of plan.warnings) warn(report, 'NoMatchingDestination', message);
  for (const [destination, list] of plan.filesFor)
    writeFiles(ctx, report, obj, type, destination, pipeline, list);
  return plan.record;
}
const warn = (r: { events: TestEvent[] }, reason: string, message: string) =>
  r.events.push({ type: 'Warning', reason, message });
const normal = (r: { events: TestEvent[] }, reason: string, message: string) =>
  r.events.push({ type: 'Normal', reason, message });

/** The configure run of one object, as workflows/configure-run.ts drives it. */
async function runConfigure(
  ctx: RunContext,
  obj: KubeObject,
  type: WorkflowType,
  report: TestObjectReport,
): Promise<TestObjectReport> {
  const pipelines = pipelinesFor(ctx.promise, type, 'configure');
  const generation = obj.metadata.generation ?? 1;
  patch(
    obj,
    runStartedStatus(
      obj,
      ctx.promise.metadata.name,
      pipelines.map((p) => p.metadata.name),
      ctx.now(),
    ),
  );
  for (const [i, pipeline] of pipelines.entries()) {
    const name = pipeline.metadata.name;
    patch(obj, { kratix: withPhase(obj, name, 'Running', ctx.now()) });
    normal(report, 'PipelineStarted', RUN_EVENTS.pipelineStarted('configure', name, i, pipelines.length));
    const ran = await runOne(ctx, obj, type, 'configure', i, report);
    if (!ran.ok) break;
    let result;
    try {
      result = collectConfigureResult(ran.files);
    } catch (err) {
      if (!(err instanceof PipelineOutputError)) throw err;
      fail(ctx, obj, report, 'configure', name, err.message);
      break;
    }
    const control = parseWorkflowControl(ran.files.metadata[WORKFLOW_CONTROL_FILE]);
    if (!control.ok || control.control) {
      // A cluster would suspend the run here (workflow-control.yaml); a test reports where it stopped.
      fail(
        ctx,
        obj,
        report,
        'configure',
        name,
        control.ok
          ? `suspends the workflow (${WORKFLOW_CONTROL_FILE}); kratix-temporal test stops here`
          : control.error,
      );
      break;
    }
    const written = schedule(ctx, report, obj, type, name, result.files, result.destinationSelectors);
    if (!written) break;
    patch(obj, pipelineSucceededStatus(obj, result.status, name, written, ctx.now()));
    // The last pipeline's success is told in ConfigureWorkflowCompleted (as the worker does).
    if (i < pipelines.length - 1)
      normal(
        report,
        'PipelineSucceeded',
        RUN_EVENTS.pipelineSucceeded('configure', name, i, pipelines.length),
      );
  }
  if (report.ok) {
    patch(obj, runCompletedStatus(obj, generation, type === 'promise', ctx.now()));
    const last = pipelines.length
      ? { name: pipelines.at(-1)!.metadata.name, index: pipelines.length - 1, total: pipelines.length }
      : undefined;
    normal(report, 'ConfigureWorkflowCompleted', RUN_EVENTS.configureCompleted(last));
    if (type === 'promise') normal(report, 'Available', RUN_EVENTS.promiseAvailable);
  }
  report.status = obj.status ?? {};
  return report;
}

/** The delete run: its single pipeline, output ignored; the object's files would then leave the stores. */
async function runDelete(
  ctx: RunContext,
  obj: KubeObject,
  report: TestObjectReport,
): Promise<NonNullable<TestObjectReport['delete']>> {
  const type: WorkflowType =
    obj.kind === 'Promise' && obj.apiVersion.startsWith(`${KRATIX_GROUP}/`) ? 'promise' : 'resource';
  const del = { ok: true, events: [] as TestEvent[] } as NonNullable<TestObjectReport['delete']>;
  const pipeline = pipelinesFor(ctx.promise, type, 'delete')[0];
  if (!pipeline) return del;
  const name = pipeline.metadata.name;
  patch(obj, { message: `Deleting: running pipeline ${name}` });
  normal(del, 'PipelineStarted', RUN_EVENTS.pipelineStarted('delete', name, 0, 1));
  const sink = { ...report, events: del.events, ok: true } as TestObjectReport;
  const ran = await runOne(ctx, obj, type, 'delete', 0, sink);
  if (ran.ok) normal(del, 'PipelineSucceeded', RUN_EVENTS.pipelineSucceeded('delete', name, 0, 1));
  else {
    del.ok = false;
    del.error = sink.error;
  }
  del.status = obj.status ?? {};
  return del;
}

/** One pipeline through the executor; a failure is recorded on the object as a real run records it. */
async function runOne(
  ctx: RunContext,
  obj: KubeObject,
  type: WorkflowType,
  action: WorkflowAction,
  index: number,
  report: TestObjectReport,
): Promise<{ ok: true; files: Parameters<typeof collectConfigureResult>[0] } | { ok: false }> {
  const pipeline = pipelinesFor(ctx.promise, type, action)[index]!;
  const name = pipeline.metadata.name;
  const subject = subjectOf(ctx.promise, obj, type, action);
  const sa = pipelineIdentity(subject, pipeline).serviceAccount;
  const settings = pipelineSettings({}, pipeline, ctx.promise);
  const runId = `test/${type}/${obj.metadata.namespace ?? '-'}/${obj.metadata.name}/${action}`;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), settings.timeoutMs);
  try {
    await ctx.prepare?.(subject, pipeline);
    const outcome = await ctx.executor.run({
      runKey: `${runId}/${index}-${name}`,
      workflowId: runId,
      subject,
      pipeline,
      namespace: sa.namespace,
      serviceAccount: sa.name,
      baseEnv: pipelineEnv(subject, name),
      objectYaml: pipelineInputYaml(obj),
      withMetadata: action === 'configure',
      settings,
      runDir: path.join(ctx.workDir, runId.replace(/[^A-Za-z0-9._-]+/g, '_'), `${index}-${name}`),
      signal: AbortSignal.any([ctx.signal, deadline.signal]),
      cancelRequested: () => true,
      onProgress: () => undefined,
      onPending: async (p) => {
        warn(report, 'PipelinePending', `Pipeline "${name}" is waiting: ${p.message}`);
      },
    });
    if (outcome.ok) return outcome;
    fail(
      ctx,
      obj,
      report,
      action,
      name,
      outcomeFailureDetail(outcome, pipeline.spec.containers.length),
      outcome.logTail,
    );
    return { ok: false };
  } catch (err) {
    if (deadline.signal.aborted && !ctx.signal.aborted) {
      fail(
        ctx,
        obj,
        report,
        action,
        name,
        `did not finish within ${formatDuration(settings.timeoutMs)} (pipelineTimeout); its containers were stopped`,
      );
      return { ok: false };
    }
    if (err instanceof EnvResolutionError || err instanceof PipelineOutputError) {
      const noCluster =
        err instanceof EnvResolutionError
          ? ' (kratix-temporal test has no cluster: only literal env values are set)'
          : '';
      fail(ctx, obj, report, action, name, `${err.message}${noCluster}`);
      return { ok: false };
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

function fail(
  ctx: RunContext,
  obj: KubeObject,
  report: TestObjectReport,
  action: WorkflowAction,
  pipeline: string,
  detail: string,
  logTail?: string,
): void {
  const failed = pipelineFailedStatus(obj, action, pipeline, detail, ctx.now());
  if (failed.patch) patch(obj, failed.patch);
  warn(report, failed.reason, failedEventMessage(failed.message, logTail));
  report.ok = false;
  report.error = failed.message;
}

/** Replaces the pipeline's folder in a Destination, as a state store write does. */
function writeFiles(
  ctx: RunContext,
  report: TestObjectReport,
  obj: KubeObject,
  type: WorkflowType,
  destination: string,
  pipeline: string,
  files: OutputFile[],
): void {
  const dir =
    type === 'promise'
      ? dependenciesOutputDir(undefined, destination, ctx.promise.metadata.name, pipeline)
      : resourceOutputDir(undefined, destination, {
          namespace: obj.metadata.namespace ?? '',
          promise: ctx.promise.metadata.name,
          name: obj.metadata.name,
          pipeline,
        });
  const full = path.join(ctx.out, dir);
  rmSync(full, { recursive: true, force: true });
  for (const f of files) {
    const target = path.join(full, f.path);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, f.content);
    report.files.push({ destination, path: path.posix.join(dir, f.path) });
  }
}
