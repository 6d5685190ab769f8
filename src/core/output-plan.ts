// Where a pipeline's output goes (pure): shared by the worker's state-store writes and
// `kratix-temporal test`, so both schedule the same way.
import { stringify } from 'yaml';
import { chooseDestination, matches, type DestinationInfo } from './destinations.js';
import type { OutputGroup } from './output-groups.js';
import type { KubeObject } from './types.js';

export type OutputPlan<F> =
  | {
      kind: 'write';
      /** What to record in `status.kratix.destinations` (null: a group key no longer used). */
      record: Record<string, string | null>;
      /** Files per Destination name; empty: remove the pipeline's output there. */
      filesFor: Map<string, F[]>;
      /** Promise output nowhere to go (a Warning NoMatchingDestination each). */
      warnings: string[];
    }
  /** A Resource's output has no Destination: it waits for one. */
  | { kind: 'wait'; message: string };

/** The Destination(s) each pipeline's output went to, as recorded in status (sticky). */
export function recordedDestinations(obj: KubeObject): Record<string, string> {
  return ((obj.status?.kratix as { destinations?: Record<string, string> } | undefined)?.destinations ??
    {}) as Record<string, string>;
}

/** The recorded Destinations of one pipeline's groups (`<pipeline>` and `<pipeline>/<directory>`). */
export function recordedFor(obj: KubeObject, pipeline: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(recordedDestinations(obj)).filter(
      ([k, v]) => (k === pipeline || k.startsWith(`${pipeline}/`)) && v !== null,
    ),
  );
}

/**
 * A Resource's group goes to one matching Destination (sticky), a Promise's to every matching one,
 * and a Destination that held the pipeline's output before and no longer does has it removed.
 */
export function planOutput<F>(args: {
  isPromise: boolean;
  pipeline: string;
  groups: OutputGroup<F & { path: string }>[];
  destinations: DestinationInfo[];
  recorded: Record<string, string>;
}): OutputPlan<F> {
  const { isPromise, pipeline, groups, destinations: infos, recorded } = args;
  const previous = new Set(
    Object.values(recorded)
      .flatMap((v) => String(v).split(','))
      .filter(Boolean),
  );
  const keyOf = (g: { directory: string }) => (g.directory === '.' ? pipeline : `${pipeline}/${g.directory}`);
  const record: Record<string, string | null> = Object.fromEntries(
    Object.keys(recorded).map((k) => [k, null]),
  );
  const filesFor = new Map<string, F[]>();
  const warnings: string[] = [];
  for (const g of groups) {
    const key = keyOf(g);
    const where = g.directory === '.' ? '' : ` (directory ${g.directory})`;
    const targets = isPromise
      ? infos.filter((d) => matches(d, g.labels)).map((d) => d.name)
      : [chooseDestination(infos, g.labels, recorded[key])?.name].filter((n): n is string => !!n);
    if (targets.length === 0) {
      if (g.files.length === 0) continue;
      if (isPromise) {
        // A Promise stays usable without Destinations; its output simply has nowhere to go yet.
        warnings.push(`Pipeline "${pipeline}"${where}: no Destination matches; output not written`);
        continue;
      }
      const wanted =
        Object.entries(g.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(',') || '(any)';
      return {
        kind: 'wait',
        message: `Pipeline "${pipeline}"${where}: no Destination matches ${wanted}; waiting for one`,
      };
    }
    record[key] = targets.join(',');
    for (const t of targets) filesFor.set(t, [...(filesFor.get(t) ?? []), ...g.files]);
  }
  // Output that moved to another Destination leaves the one it was in.
  const names = new Set(infos.map((d) => d.name));
  for (const old of previous) if (!filesFor.has(old) && names.has(old)) filesFor.set(old, []);
  return { kind: 'write', record, filesFor, warnings };
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
