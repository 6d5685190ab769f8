// Where a pipeline's output goes (pure): shared by the worker's state-store writes and
// `kratix-temporal test`, so both schedule the same way.
import { stringify } from 'yaml';
import {
  chooseDestination,
  combineSelectors,
  matches,
  type DestinationInfo,
  type Selector,
} from './destinations.js';
import type { KubeObject } from './types.js';

export type OutputPlan =
  /** Nothing to write and nothing written before: the stores are left alone. */
  | { kind: 'skip' }
  | { kind: 'write'; destinations: string[] }
  /**
   * No Destination matches. A Resource waits for one (`wait`: its run retries); a Promise stays
   * usable and only reports it (`message` is undefined when it had nothing to write).
   */
  | { kind: 'none'; wait: boolean; message?: string };

export function planOutput(args: {
  isPromise: boolean;
  pipeline: string;
  promiseSelectors: Selector[] | undefined;
  pipelineSelectors: Selector[] | undefined;
  destinations: DestinationInfo[];
  /** The Destination(s) this pipeline wrote to before (recorded in status). */
  previous: string | undefined;
  fileCount: number;
}): OutputPlan {
  const { isPromise, pipeline, previous, fileCount } = args;
  if (fileCount === 0 && !previous) return { kind: 'skip' };
  const labels = combineSelectors(args.promiseSelectors, args.pipelineSelectors);
  const targets = isPromise
    ? args.destinations.filter((d) => matches(d, labels)).map((d) => d.name)
    : [chooseDestination(args.destinations, labels, previous)]
        .filter((d) => d !== undefined)
        .map((d) => d.name);
  if (targets.length > 0) return { kind: 'write', destinations: targets };
  if (isPromise)
    return {
      kind: 'none',
      wait: false,
      message:
        fileCount > 0 ? `Pipeline "${pipeline}": no Destination matches; output not written` : undefined,
    };
  const wanted =
    Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',') || '(any)';
  return {
    kind: 'none',
    wait: true,
    message: `Pipeline "${pipeline}": no Destination matches ${wanted}; waiting for one`,
  };
}

/** The Destination(s) each pipeline's output went to, as recorded in status (sticky). */
export function recordedDestinations(obj: KubeObject): Record<string, string> {
  return ((obj.status?.kratix as { destinations?: Record<string, string> } | undefined)?.destinations ??
    {}) as Record<string, string>;
}

/** A Promise's static `spec.dependencies`, as the files of its `static` pipeline folder. */
export function staticDependencyFiles(
  dependencies: KubeObject[] | undefined,
): { path: string; content: string }[] {
  const deps = dependencies ?? [];
  return deps.length
    ? [{ path: 'dependencies.yaml', content: deps.map((d) => stringify(d)).join('---\n') }]
    : [];
}
