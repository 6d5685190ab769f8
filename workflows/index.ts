// Workflow entry points registered on the `kratix` task queue.
export { resourceLifecycle } from './resource-lifecycle.js';
export { promiseLifecycle } from './promise-lifecycle.js';
export { configureRun } from './configure-run.js';
export { deleteRun } from './delete-run.js';
