import { randomBytes } from 'node:crypto';
import { shortenName } from '../core/names.js';
import { isNotFound, mergePatch, type Kube } from './client.js';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}

const COMPONENT = 'kratix-temporal';
/** Repeats of one Event within this window count on the existing Event (client-go's recorder: 10 min). */
export const EVENT_AGGREGATION_WINDOW_MS = 10 * 60_000;
/** Events remembered for aggregation (least recently recorded forgotten first). */
const MAX_REMEMBERED = 4096;

/** The Events this process recorded, by what makes two Events "the same". */
const recorded = new Map<string, { name: string; count: number; lastMs: number }>();

function remember(key: string, entry: { name: string; count: number; lastMs: number }): void {
  recorded.delete(key);
  recorded.set(key, entry);
  if (recorded.size > MAX_REMEMBERED) recorded.delete(recorded.keys().next().value!);
}

/**
 * Records a core/v1 Event on an object (what `kubectl describe` and `kubectl get events` show).
 * Repeats are aggregated as client-go's recorder does: the same object (incarnation), type, reason
 * and message within 10 minutes of the last one increments `count` and moves `lastTimestamp` of
 * the Event already recorded, instead of creating another (a Resource failing on every retry shows
 * one Warning, `x12`). Like client-go, each process remembers its own Events, so it needs only
 * `create` and `patch` on events. Best-effort: a failure to record one never fails the caller.
 */
export async function recordEvent(
  kube: Kube,
  target: EventTarget,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
  nowMs = Date.now(),
): Promise<void> {
  const namespace = target.namespace || 'default';
  const text = message.slice(0, 1024);
  const key = JSON.stringify([
    target.apiVersion,
    target.kind,
    namespace,
    target.name,
    target.uid,
    type,
    reason,
    text,
  ]);
  const now = new Date(nowMs);
  const seen = recorded.get(key);
  if (seen && nowMs - seen.lastMs < EVENT_AGGREGATION_WINDOW_MS) {
    remember(key, { ...seen, count: seen.count + 1, lastMs: nowMs });
    try {
      await kube.core.patchNamespacedEvent(
        { name: seen.name, namespace, body: { count: seen.count + 1, lastTimestamp: now.toISOString() } },
        mergePatch,
      );
      return;
    } catch (err) {
      recorded.delete(key);
      if (!isNotFound(err)) return; // best effort; a 404 (the Event expired) records a new one
    }
  }
  const name = `${shortenName(target.name, 200)}.${nowMs.toString(16)}${randomBytes(3).toString('hex')}`;
  try {
    await kube.core.createNamespacedEvent({
      namespace,
      body: {
        metadata: { name, namespace },
        involvedObject: {
          apiVersion: target.apiVersion,
          kind: target.kind,
          name: target.name,
          namespace: target.namespace,
          uid: target.uid,
        },
        type,
        reason,
        message: text,
        source: { component: COMPONENT },
        reportingComponent: COMPONENT,
        reportingInstance: COMPONENT,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    });
    remember(key, { name, count: 1, lastMs: nowMs });
  } catch {
    // Best effort by design (the object's status carries the same information).
  }
}
