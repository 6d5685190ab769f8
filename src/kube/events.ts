import type { Kube } from './client.js';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}

const COMPONENT = 'kratix-temporal';

/**
 * Records a core/v1 Event on an object (what `kubectl describe` and `kubectl get events` show).
 * Events are best-effort: a failure to record one never fails the caller.
 */
export async function recordEvent(
  kube: Kube,
  target: EventTarget,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
): Promise<void> {
  const namespace = target.namespace || 'default';
  const now = new Date();
  try {
    await kube.core.createNamespacedEvent({
      namespace,
      body: {
        metadata: { generateName: `${target.name}.`, namespace },
        involvedObject: {
          apiVersion: target.apiVersion,
          kind: target.kind,
          name: target.name,
          namespace: target.namespace,
          uid: target.uid,
        },
        type,
        reason,
        message: message.slice(0, 1024),
        source: { component: COMPONENT },
        reportingComponent: COMPONENT,
        reportingInstance: COMPONENT,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    });
  } catch {
    // Best effort by design (the object's status carries the same information).
  }
}
