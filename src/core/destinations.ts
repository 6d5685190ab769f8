// Scheduling of pipeline output to Destinations (pure): DESIGN §3 "scheduling".

export interface Selector {
  matchLabels?: Record<string, string>;
}

export interface DestinationInfo {
  name: string;
  labels: Record<string, string>;
  /** Upstream's spec.strictMatchLabels: only output whose selectors name this Destination's labels lands here. */
  strictMatchLabels?: boolean;
}

/** Promise selectors AND pipeline selectors, the Promise winning on a conflicting key. */
export function combineSelectors(
  promise: Selector[] | undefined,
  pipeline: Selector[] | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  // Label values are strings, but a YAML file says `tier: 113574` or `canary: true` without quotes:
  // compare them as the strings a Destination's labels are.
  const add = (labels: Record<string, unknown> | undefined) => {
    for (const [k, v] of Object.entries(labels ?? {})) out[k] = String(v);
  };
  for (const s of pipeline ?? []) add(s?.matchLabels);
  for (const s of promise ?? []) add(s?.matchLabels);
  return out;
}

export function matches(d: DestinationInfo, labels: Record<string, string>): boolean {
  if (d.strictMatchLabels && Object.keys(labels).length === 0) return false;
  return Object.entries(labels).every(([k, v]) => d.labels[k] === v);
}

/**
 * Picks the one Destination for a resource's output: the previous choice if it still matches
 * (sticky), else the first matching one by name (deterministic). Undefined when none matches.
 */
export function chooseDestination(
  destinations: DestinationInfo[],
  labels: Record<string, string>,
  previous?: string,
): DestinationInfo | undefined {
  const candidates = destinations
    .filter((d) => matches(d, labels))
    .sort((a, b) => a.name.localeCompare(b.name));
  return candidates.find((d) => d.name === previous) ?? candidates[0];
}

/** `<store path>/<destination path>/resources/<ns>/<promise>/<resource>/<pipeline>` */
export function resourceOutputDir(
  storePath: string | undefined,
  destinationPath: string,
  r: { namespace: string; promise: string; name: string; pipeline: string },
): string {
  return joinPath(storePath, destinationPath, 'resources', r.namespace, r.promise, r.name, r.pipeline);
}

/** `<store path>/<destination path>/dependencies/<promise>/<pipeline>` */
export function dependenciesOutputDir(
  storePath: string | undefined,
  destinationPath: string,
  promise: string,
  pipeline: string,
): string {
  return joinPath(storePath, destinationPath, 'dependencies', promise, pipeline);
}

function joinPath(...parts: (string | undefined)[]): string {
  return parts
    .filter((p): p is string => !!p)
    .flatMap((p) => p.split('/'))
    .filter((p) => p && p !== '.' && p !== '..')
    .join('/');
}
