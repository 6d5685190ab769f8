import { isPromiseRef, type ObjectRef } from '../src/core/types.js';

/** "Redis team-a/cache" or "Promise redis": for summaries and details in the Web UI. */
export function describeRef(ref: ObjectRef): string {
  return isPromiseRef(ref) ? `Promise ${ref.promise}` : `${ref.kind} ${ref.namespace}/${ref.name}`;
}
