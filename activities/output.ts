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
import type { CollectedResult, OutputFile } from '../src/executors/collect.js';
import { recordEvent } from '../src/kube/events.js';
import { StateStoreAccessError } from '../src/statestore/writer.js';
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
      dir: outputDir(ref, store, d, pipeline),
      files,
      message: `${describeRef(ref)}: pipeline ${pipeline}${isPromiseRef(ref) ? '' : ` (Promise ${ref.promise})`}`,
    });
    metrics.stateStoreWrites.inc({ outcome: version ? 'committed' : 'unchanged' });
  } catch (err) {
    metrics.stateStoreWrites.inc({ outcome: 'failed' });
    throw err;
  }
}

/**
 * Schedules a pipeline's output and writes it, replacing the pipeline's previous files. A Resource's
 * output goes to one matching Destination (sticky); a Promise's output and its static
 * `spec.dependencies` go to every matching Destination. Scheduling and store problems are shown on
 * the object and thrown as retryable errors, so the activity retries until they are resolved.
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
): Promise<string[]> {
  const { ref, pipeline, result, obj, acc, promise } = args;
  const previous = recordedDestinations(obj)[pipeline];
  const isPromise = isPromiseRef(ref);
  // Nothing to write and nothing written before: leave the stores alone.
  if (result.files.length === 0 && !previous) return [];
  const fail = async (reason: string, message: string): Promise<never> => {
    if (obj.status?.message !== message) await acc.patchStatus({ message });
    await recordEvent(deps.kube, acc.event, 'Warning', reason, message);
    throw new Error(message);
  };

  const labels = combineSelectors(promise.spec?.destinationSelectors, result.destinationSelectors);
  const schedule = (destinations: DestinationObject[]) =>
    isPromise
      ? destinations.filter((d) => matches(destinationInfo(d), labels))
      : [chooseDestination(destinations.map(destinationInfo), labels, previous)]
          .filter((d) => d !== undefined)
          .map((d) => destinations.find((x) => x.metadata.name === d.name)!);
  let targets = schedule(await listDestinations(deps.kube));
  // The watch cache may not have a just-created Destination yet: ask the API before saying none.
  if (targets.length === 0) targets = schedule(await listDestinations(deps.kube, { fresh: true }));
  if (targets.length === 0 && isPromise) {
    // A Promise stays usable without Destinations; its output simply has nowhere to go yet.
    if (result.files.length > 0) {
      await recordEvent(
        deps.kube,
        acc.event,
        'Warning',
        'NoMatchingDestination',
        `Pipeline "${pipeline}": no Destination matches; output not written`,
      );
    }
    return [];
  }
  if (targets.length === 0) {
    const wanted =
      Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',') || '(any)';
    return fail(
      'NoMatchingDestination',
      `Pipeline "${pipeline}": no Destination matches ${wanted}; waiting for one`,
    );
  }
  for (const d of targets) {
    try {
      await writeTo(deps, d, ref, pipeline, result.files);
    } catch (err) {
      if (err instanceof StateStoreError || err instanceof StateStoreAccessError) {
        return fail(
          'FailedWriteToDestination',
          `Pipeline "${pipeline}": cannot write to Destination ${d.metadata.name}: ${err.message}`,
        );
      }
      throw err;
    }
  }
  return targets.map((d) => d.metadata.name);
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
  return writeOutput(deps, { ref, promise, pipeline: 'static', result: { files }, obj: promise, acc });
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
    const dir = outputDir(ref, store, d).replace(/\/$/, '');
    await writer.write({ dir, files: [], message: `${describeRef(ref)}: removed` });
  }
}
