import { describeRef } from '../src/core/names.js';
import { stringify } from 'yaml';
import {
  chooseDestination,
  combineSelectors,
  dependenciesOutputDir,
  matches,
  resourceOutputDir,
} from '../src/core/destinations.js';
import { isPromiseRef, type KratixPromise, type KubeObject, type ObjectRef } from '../src/core/types.js';
import { PipelineOutputError, type CollectedResult, type OutputFile } from '../src/executors/collect.js';
import {
  aggregatedChange,
  destinationLayout,
  destinationRoot,
  flatChange,
  outputKey,
} from '../src/core/destination-layout.js';
import { outputGroups, SelectorFileError } from '../src/core/output-groups.js';
import { recordEvent } from '../src/kube/events.js';
import { StateStoreAccessError, type WriteRequest } from '../src/statestore/writer.js';
import {
  destinationInfo,
  destinationPath,
  listDestinations,
  StateStoreError,
  type DestinationObject,
} from '../src/statestore/stores.js';
import type { ObjectAccess } from './access.js';
import type { ActivityDeps } from './deps.js';
import { metrics } from '../src/metrics.js';
import { findCondition } from '../src/core/status.js';
import type { Condition } from '../src/core/types.js';
import { WORKS_SUCCEEDED } from '../src/core/upstream-status.js';
import { conditionsWith } from './run-status.js';

function worksCondition(reason: string, message: string): Condition {
  return reason === 'NoMatchingDestination'
    ? { type: WORKS_SUCCEEDED, status: 'Unknown', reason: 'WorksPending', message }
    : { type: WORKS_SUCCEEDED, status: 'False', reason: 'WorksFailing', message };
}

/** The Destination(s) each pipeline's output went to, as recorded in status (sticky). */
export function recordedDestinations(obj: KubeObject): Record<string, string> {
  return ((obj.status?.kratix as { destinations?: Record<string, string> } | undefined)?.destinations ??
    {}) as Record<string, string>;
}

/** The folder an object's pipeline writes to inside a Destination (without the pipeline for `whole`). */
function outputDir(
  ref: ObjectRef,
  store: { spec?: { path?: string } },
  d: DestinationObject,
  pipeline?: string,
): string {
  const base = destinationPath(d);
  if (isPromiseRef(ref)) return dependenciesOutputDir(store.spec?.path, base, ref.promise, pipeline ?? '');
  return resourceOutputDir(store.spec?.path, base, {
    namespace: ref.namespace,
    promise: ref.promise,
    name: ref.name,
    pipeline: pipeline ?? '',
  });
}

/**
 * The write that puts `files` in Destination `d` as `ref`'s output of `pipeline` (all of `ref`'s
 * output when `pipeline` is undefined; `files` empty removes it), laid out by `spec.filepath`.
 */
function writeRequest(
  ref: ObjectRef,
  store: { spec?: { path?: string } },
  d: DestinationObject,
  pipeline: string | undefined,
  files: OutputFile[],
): Omit<WriteRequest, 'message'> {
  const layout = destinationLayout(d.spec as Record<string, unknown> | undefined);
  if (layout.mode === 'nestedByMetadata')
    return { dir: outputDir(ref, store, d, pipeline).replace(/\/$/, ''), files };
  const owner = isPromiseRef(ref)
    ? { type: 'promise' as const, promise: ref.promise }
    : { type: 'resource' as const, namespace: ref.namespace, promise: ref.promise, name: ref.name };
  const select = pipeline === undefined ? { prefix: outputKey(owner) } : { key: outputKey(owner, pipeline) };
  return {
    dir: destinationRoot(store.spec?.path, destinationPath(d)),
    files: [],
    apply: (tree) =>
      layout.mode === 'none'
        ? flatChange(tree, select, files)
        : aggregatedChange(tree, layout.filename, select, files),
  };
}

async function writeTo(
  deps: ActivityDeps,
  d: DestinationObject,
  ref: ObjectRef,
  pipeline: string,
  files: OutputFile[],
) {
  const { store, writer } = await deps.stateStores.forDestination(d);
  try {
    const { version } = await writer.write({
      ...writeRequest(ref, store, d, pipeline, files),
      message: files.length
        ? `${describeRef(ref)}: pipeline ${pipeline}${isPromiseRef(ref) ? '' : ` (Promise ${ref.promise})`}`
        : `${describeRef(ref)}: pipeline ${pipeline} output moved away`,
    });
    metrics.stateStoreWrites.inc({ outcome: version ? 'committed' : 'unchanged' });
  } catch (err) {
    metrics.stateStoreWrites.inc({ outcome: 'failed' });
    throw err;
  }
}

/** The recorded Destinations of one pipeline: its default group (`<pipeline>`) and directories (`<pipeline>/<dir>`). */
function recordedFor(obj: KubeObject, pipeline: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(recordedDestinations(obj)).filter(
      ([k, v]) => (k === pipeline || k.startsWith(`${pipeline}/`)) && v !== null,
    ),
  );
}

/**
 * Schedules a pipeline's output and writes it, replacing the pipeline's previous files. The output
 * is split into upstream's groups (destination-selectors.yaml entries with a `directory`); a
 * Resource's group goes to one matching Destination (sticky), a Promise's to every matching one,
 * and a Destination that held the pipeline's output before and no longer does has it removed.
 * Scheduling and store problems are shown on the object and thrown as retryable errors, so the
 * activity retries until they are resolved. Returns what to record in `status.kratix.destinations`
 * (null: a group key no longer used).
 */
export async function writeOutput(
  deps: ActivityDeps,
  args: {
    ref: ObjectRef;
    promise: KratixPromise;
    pipeline: string;
    result: CollectedResult;
    obj: KubeObject;
    acc: ObjectAccess;
  },
): Promise<Record<string, string | null>> {
  const { ref, pipeline, result, obj, acc, promise } = args;
  const recorded = recordedFor(obj, pipeline);
  const previous = new Set(
    Object.values(recorded)
      .flatMap((v) => String(v).split(','))
      .filter(Boolean),
  );
  const isPromise = isPromiseRef(ref);
  // Nothing to write and nothing written before: leave the stores alone.
  if (result.files.length === 0 && previous.size === 0) return {};
  const fail = async (reason: string, message: string): Promise<never> => {
    // Upstream's WorksSucceeded: Unknown while nothing can take the output, False when a write fails.
    const works = worksCondition(reason, message);
    const prev = findCondition(obj.status, WORKS_SUCCEEDED);
    if (obj.status?.message !== message || prev?.status !== works.status || prev.message !== message)
      await acc.patchStatus({ message, conditions: conditionsWith(obj, works) });
    await recordEvent(deps.kube, acc.event, 'Warning', reason, message);
    throw new Error(message);
  };

  let groups;
  try {
    groups = outputGroups(result.files, promise.spec?.destinationSelectors, result.destinationSelectors);
  } catch (err) {
    if (err instanceof SelectorFileError) throw new PipelineOutputError(err.message);
    throw err;
  }
  const keyOf = (g: { directory: string }) => (g.directory === '.' ? pipeline : `${pipeline}/${g.directory}`);
  const targetsOf = (infos: ReturnType<typeof destinationInfo>[], g: (typeof groups)[number]) =>
    isPromise
      ? infos.filter((d) => matches(d, g.labels)).map((d) => d.name)
      : [chooseDestination(infos, g.labels, recorded[keyOf(g)])?.name].filter((n): n is string => !!n);
  let destinations = await listDestinations(deps.kube);
  // The watch cache may not have a just-created Destination yet: ask the API before saying none.
  if (groups.some((g) => g.files.length && !targetsOf(destinations.map(destinationInfo), g).length))
    destinations = await listDestinations(deps.kube, { fresh: true });
  const infos = destinations.map(destinationInfo);
  const byName = new Map(destinations.map((d) => [d.metadata.name, d]));
  const record: Record<string, string | null> = Object.fromEntries(
    Object.keys(recorded).map((k) => [k, null]),
  );
  const filesFor = new Map<string, OutputFile[]>();
  for (const g of groups) {
    const key = keyOf(g);
    const where = g.directory === '.' ? '' : ` (directory ${g.directory})`;
    const targets = targetsOf(infos, g);
    if (targets.length === 0) {
      if (g.files.length === 0) continue;
      if (isPromise) {
        // A Promise stays usable without Destinations; its output simply has nowhere to go yet.
        await recordEvent(
          deps.kube,
          acc.event,
          'Warning',
          'NoMatchingDestination',
          `Pipeline "${pipeline}"${where}: no Destination matches; output not written`,
        );
        continue;
      }
      const wanted =
        Object.entries(g.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(',') || '(any)';
      return fail(
        'NoMatchingDestination',
        `Pipeline "${pipeline}"${where}: no Destination matches ${wanted}; waiting for one`,
      );
    }
    record[key] = targets.join(',');
    for (const t of targets) filesFor.set(t, [...(filesFor.get(t) ?? []), ...g.files]);
  }
  // Output that moved to another Destination leaves the one it was in.
  for (const old of previous) if (!filesFor.has(old) && byName.has(old)) filesFor.set(old, []);
  for (const [name, files] of filesFor) {
    try {
      await writeTo(deps, byName.get(name)!, ref, pipeline, files);
    } catch (err) {
      if (err instanceof StateStoreError || err instanceof StateStoreAccessError) {
        return fail(
          'FailedWriteToDestination',
          `Pipeline "${pipeline}": cannot write to Destination ${name}: ${err.message}`,
        );
      }
      throw err;
    }
  }
  return record;
}

/** Writes a Promise's static `spec.dependencies` to every Destination matching its selectors. */
export async function writeStaticDependencies(
  deps: ActivityDeps,
  promise: KratixPromise,
  acc: ObjectAccess,
): Promise<string[]> {
  const dependencies = promise.spec?.dependencies ?? [];
  const ref: ObjectRef = { type: 'promise', promise: promise.metadata.name, uid: promise.metadata.uid ?? '' };
  const files = dependencies.length
    ? [{ path: 'dependencies.yaml', content: dependencies.map((d) => stringify(d)).join('---\n') }]
    : [];
  const record = await writeOutput(deps, {
    ref,
    promise,
    pipeline: 'static',
    result: { files },
    obj: promise,
    acc,
  });
  // Recorded like a pipeline's, so dependencies that move to another Destination leave the old one.
  if (Object.keys(record).length) await acc.patchStatus({ kratix: { destinations: record } });
  return Object.values(record).filter((v): v is string => !!v);
}

/**
 * Removes everything an object wrote from the state stores it wrote to (the Destinations recorded
 * in its status, plus for a Promise every Destination its selectors match). Idempotent.
 */
export async function removeOutput(
  deps: ActivityDeps,
  ref: ObjectRef,
  obj: KubeObject | undefined,
  promise?: KratixPromise,
): Promise<void> {
  const recorded = new Set(
    Object.values(obj ? recordedDestinations(obj) : {})
      .flatMap((v) => String(v).split(','))
      .filter(Boolean),
  );
  const selectors = combineSelectors(promise?.spec?.destinationSelectors, []);
  for (const d of await listDestinations(deps.kube)) {
    const wrote =
      recorded.has(d.metadata.name) || (isPromiseRef(ref) && matches(destinationInfo(d), selectors));
    if (!wrote) continue;
    const { store, writer } = await deps.stateStores.forDestination(d);
    await writer.write({
      ...writeRequest(ref, store, d, undefined, []),
      message: `${describeRef(ref)}: removed`,
    });
  }
}
