// Every side effect of kratix-temporal, as Temporal activities. Workflows import only the type.
import type { ActivityDeps } from './deps.js';
import { pipelineRunActivities } from './pipeline-runs.js';
import { promiseActivities } from './promise.js';

export function createActivities(deps: ActivityDeps) {
  return { ...pipelineRunActivities(deps), ...promiseActivities(deps) };
}

export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDeps } from './deps.js';
