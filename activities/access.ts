import { KRATIX_GROUP, KRATIX_VERSION } from '../src/core/constants.js';
import type { PipelineSubject } from '../src/core/pipeline-factory.js';
import {
  isPromiseRef,
  type KubeObject,
  type ObjectRef,
  type WorkflowAction,
  type WorkflowType,
} from '../src/core/types.js';
import { withUpstreamStatus } from '../src/core/upstream-status.js';
import type { Kube } from '../src/kube/client.js';
import type { EventTarget } from '../src/kube/events.js';
import {
  patchPromiseMetadata,
  patchPromiseStatus,
  patchResourceMetadata,
  patchResourceStatus,
  readPromise,
  readResource,
} from '../src/kube/objects.js';

type MetaChange = Parameters<typeof patchResourceMetadata>[2];

/** Uniform access to the object a pipeline works on, Resource or Promise. */
export interface ObjectAccess {
  type: WorkflowType;
  event: EventTarget;
  /** "Redis team-a/cache" or "Promise redis", for messages. */
  describe: string;
  read(): Promise<KubeObject | undefined>;
  /** Merge-patches the status; upstream's conditions and counters are derived from ours on the way. */
  patchStatus(status: Record<string, unknown>): Promise<void>;
  patchMetadata(change: MetaChange): Promise<boolean>;
  subject(action: WorkflowAction): PipelineSubject;
}

export function objectAccess(kube: Kube, ref: ObjectRef): ObjectAccess {
  if (isPromiseRef(ref)) {
    return {
      type: 'promise',
      event: {
        apiVersion: `${KRATIX_GROUP}/${KRATIX_VERSION}`,
        kind: 'Promise',
        name: ref.promise,
        uid: ref.uid,
      },
      describe: `Promise ${ref.promise}`,
      read: async () => {
        // Its own workflow reads the Promise from the source: a cached copy could be an older incarnation.
        const p = await readPromise(kube, ref.promise, { fresh: true });
        return p?.metadata.uid === ref.uid ? p : undefined;
      },
      patchStatus: (status) =>
        patchPromiseStatus(kube, ref.promise, withUpstreamStatus(status, new Date().toISOString())),
      patchMetadata: (change) => patchPromiseMetadata(kube, ref.promise, ref.uid, change),
      subject: (action) => ({
        promise: ref.promise,
        type: 'promise',
        action,
        group: KRATIX_GROUP,
        version: KRATIX_VERSION,
        kind: 'Promise',
        plural: 'promises',
        name: ref.promise,
      }),
    };
  }
  return {
    type: 'resource',
    event: {
      apiVersion: `${ref.group}/${ref.version}`,
      kind: ref.kind,
      name: ref.name,
      namespace: ref.namespace,
      uid: ref.uid,
    },
    describe: `${ref.kind} ${ref.namespace}/${ref.name}`,
    read: () => readResource(kube, ref),
    patchStatus: (status) =>
      patchResourceStatus(kube, ref, withUpstreamStatus(status, new Date().toISOString())),
    patchMetadata: (change) => patchResourceMetadata(kube, ref, change),
    subject: (action) => ({
      promise: ref.promise,
      type: 'resource',
      action,
      group: ref.group,
      version: ref.version,
      kind: ref.kind,
      plural: ref.plural,
      name: ref.name,
      namespace: ref.namespace,
    }),
  };
}
