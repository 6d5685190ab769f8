// Every side effect of kratix-temporal, as Temporal activities. Workflows import only the type.
import type { ActivityDeps } from './deps.js';
import { controlActivities } from './controls.js';
import { deleteRunActivities } from './delete-runs.js';
import { identityActivities } from './identity.js';
import { pipelineRunActivities } from './pipeline-runs.js';
import { promiseActivities } from './promise.js';
import { promiseDeleteActivities } from './promise-delete.js';
import { promiseUpdateActivities } from './promise-update.js';
import { stateStoreActivities } from './state-store.js';

export function createActivities(deps: ActivityDeps) {
  return {
    ...pipelineRunActivities(deps),
    ...identityActivities(deps),
    ...deleteRunActivities(deps),
    ...promiseActivities(deps),
    ...promiseUpdateActivities(deps),
    ...promiseDeleteActivities(deps),
    ...stateStoreActivities(deps),
    ...controlActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDeps } from './deps.js';
