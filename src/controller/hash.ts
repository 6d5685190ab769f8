import { createHash } from 'node:crypto';

function stable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stable);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as Record<string, unknown>)
        .sort()
        .map((k) => [k, stable((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** A short hash of an object's spec, independent of key order: "did the spec change?" */
export function specHash(spec: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(stable(spec ?? {})))
    .digest('hex')
    .slice(0, 16);
}
