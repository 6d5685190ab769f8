// Activity stubs with explicit timeouts. Short Kubernetes calls retry quickly; pipeline runs
// heartbeat so a dead worker is noticed in ~30s and the run resumes on another.
import {
  ActivityCancellationType,
  proxyActivities,
  proxyLocalActivities,
  type ActivityOptions,
  type LocalActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';

// Kubernetes calls take milliseconds: a short timeout means a worker that died mid-call delays the
// retry by seconds, not minutes. installPromise waits for CRD establishment, so it gets longer.
export const KUBE_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '20 seconds',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    nonRetryableErrorTypes: ['InvalidPromise'],
  },
};

export const kube = proxyActivities<Activities>(KUBE_OPTIONS);

// The short Kubernetes steps of a configure run as local activities: they run in the worker that
// runs the workflow task, with no task round trip through the server, and leave one marker event
// each instead of three events plus a workflow task. Retries longer than the threshold wait on a
// durable timer, so waiting for a Promise to become available costs no held workflow task.
export const LOCAL_KUBE_OPTIONS: LocalActivityOptions = {
  startToCloseTimeout: KUBE_OPTIONS.startToCloseTimeout,
  retry: KUBE_OPTIONS.retry,
  localRetryThreshold: '10 seconds',
};

export const localKube =
  proxyLocalActivities<
    Pick<Activities, 'startConfigureRun' | 'ensurePipelineIdentity' | 'completeConfigureRun'>
  >(LOCAL_KUBE_OPTIONS);

// Removing an object's files is a git fetch, commit and push: seconds, sometimes more, so not
// under the 20 s Kubernetes timeout.
export const stateStore = proxyActivities<Pick<Activities, 'removeFromStateStores'>>({
  ...KUBE_OPTIONS,
  startToCloseTimeout: '2 minutes',
});

export const install = proxyActivities<Pick<Activities, 'installPromise'>>({
  ...KUBE_OPTIONS,
  startToCloseTimeout: '1 minute',
});

/** Activities that wait on other objects (Promise update and delete): heartbeating, up to hours. */
export const longRunning = proxyActivities<
  Pick<Activities, 'rerunPromiseResources' | 'deleteResourcesOfPromise'>
>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

// A cancelled run (delete during configure) waits until the containers are really gone. Running
// pipelines heartbeat (from 5 s on), so a dead worker's pipeline resumes elsewhere after ~15 s; a
// retry that lands while the old attempt still runs takes over its run (the executors own a run
// exclusively).
export const PIPELINE_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '15 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '20 seconds',
    nonRetryableErrorTypes: ['PipelineFailed'],
  },
};

export const pipelines = proxyActivities<Pick<Activities, 'runPipeline'>>(PIPELINE_OPTIONS);

// A pipeline's first attempt inside the workflow task (configure-run.ts runPipeline): it returns
// by the executor's hand-over time, so no heartbeat is needed; a dead worker's workflow task times
// out (10 s) and the next worker runs it again, resuming from the run's folder.
export const LOCAL_PIPELINE_OPTIONS: LocalActivityOptions = {
  startToCloseTimeout: '2 minutes',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: PIPELINE_OPTIONS.retry,
  localRetryThreshold: '10 seconds',
};

export const localPipelines = proxyLocalActivities<Pick<Activities, 'runPipeline'>>(LOCAL_PIPELINE_OPTIONS);
