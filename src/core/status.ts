import deepmerge from 'deepmerge';
import type { Condition } from './types.js';

type Status = Record<string, unknown>;

/** Conditions merge by `type`; everything else deep-merges with arrays replaced, latest winning. */
export function mergeStatus(current: Status | undefined, incoming: Status): Status {
  const { conditions: incomingConditions, ...rest } = incoming;
  const merged = deepmerge<Status>(current ?? {}, rest, { arrayMerge: (_dst, src) => src });
  if (Array.isArray(incomingConditions)) {
    let conditions = (Array.isArray(current?.conditions) ? current!.conditions : []) as Condition[];
    for (const c of incomingConditions as Condition[])
      conditions = setCondition(conditions, c, c.lastTransitionTime);
    merged.conditions = conditions;
  }
  return merged;
}

/**
 * Sets a condition, keeping `lastTransitionTime` when the status does not change (Kubernetes
 * convention). `now` is passed in so this stays pure.
 */
export function setCondition(
  conditions: Condition[] | undefined,
  next: Condition,
  now?: string,
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const prev = i >= 0 ? list[i] : undefined;
  const lastTransitionTime =
    prev && prev.status === next.status ? prev.lastTransitionTime : (now ?? next.lastTransitionTime);
  const value: Condition = { ...next, ...(lastTransitionTime ? { lastTransitionTime } : {}) };
  if (i >= 0) list[i] = value;
  else list.push(value);
  return list;
}

export function findCondition(status: Status | undefined, type: string): Condition | undefined {
  const list = status?.conditions;
  return Array.isArray(list) ? (list as Condition[]).find((c) => c.type === type) : undefined;
}

/** Validates a parsed status.yaml: it must be a map (or empty). Returns an error message or undefined. */
export function checkStatusDocument(doc: unknown): string | undefined {
  if (doc === null || doc === undefined) return undefined;
  if (typeof doc !== 'object' || Array.isArray(doc))
    return `must be a YAML map, got ${Array.isArray(doc) ? 'a list' : typeof doc}`;
  return undefined;
}
