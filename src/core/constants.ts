export const TASK_QUEUE = 'kratix';
export const PLATFORM_NAMESPACE = 'kratix-platform-system';
export const KRATIX_GROUP = 'platform.kratix.io';
export const KRATIX_VERSION = 'v1alpha1';
export const DELETE_FINALIZER = 'kratix.io/delete-workflows';
export const MANUAL_RECONCILIATION_LABEL = 'kratix.io/manual-reconciliation';
export const PROMISE_NAME_LABEL = 'kratix.io/promise-name';
/** On a Promise's CRD: the uid of the Promise that installed it (with PROMISE_NAME_LABEL, its owner). */
export const PROMISE_UID_ANNOTATION = 'kratix.io/promise-uid';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'kratix-temporal';
export const CONFIG_MAP_NAME = 'kratix';
export const DEFAULT_RECONCILIATION_INTERVAL_MS = 10 * 60 * 60 * 1000;
export const MIN_RECONCILIATION_INTERVAL_MS = 60 * 1000;
/** Upstream's label that pauses reconciliation of a Promise (and its Resources) or a Resource. */
export const PAUSED_LABEL = 'kratix.io/paused';
/** Upstream's label on a Promise: re-run all its Resources, then the label is removed. */
export const RECONCILE_RESOURCES_LABEL = 'kratix.io/reconcile-resources';
