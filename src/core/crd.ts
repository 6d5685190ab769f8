import type { CrdSpec, CrdVersion, KubeObject } from './types.js';
import { MANAGED_BY, MANAGED_BY_LABEL, PROMISE_NAME_LABEL, PROMISE_UID_ANNOTATION } from './constants.js';

/** The status schema every Promise API gets: keeps whatever pipelines write, declares what we set. */
export const RESOURCE_STATUS_SCHEMA = {
  type: 'object',
  'x-kubernetes-preserve-unknown-fields': true,
  properties: {
    message: { type: 'string' },
    observedGeneration: { type: 'integer', format: 'int64' },
    lastSuccessfulConfigureWorkflowTime: { type: 'string' },
    conditions: {
      type: 'array',
      items: {
        type: 'object',
        'x-kubernetes-preserve-unknown-fields': true,
        required: ['type', 'status'],
        properties: {
          type: { type: 'string' },
          status: { type: 'string' },
          reason: { type: 'string' },
          message: { type: 'string' },
          lastTransitionTime: { type: 'string' },
          observedGeneration: { type: 'integer', format: 'int64' },
        },
      },
    },
    kratix: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
  },
};

const DEFAULT_COLUMNS = [
  { name: 'Status', type: 'string', jsonPath: '.status.message' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

/**
 * The CRD installed for a Promise's `spec.api`: status subresource, the status schema above, and a
 * STATUS printer column from `.status.message` unless the API defines its own columns.
 */
export function resourceCrdFor(
  promise: string,
  api: KubeObject & { spec?: CrdSpec },
  promiseUid?: string,
): KubeObject & { spec: CrdSpec } {
  const spec = api.spec as CrdSpec;
  const versions: CrdVersion[] = spec.versions.map((v) => {
    const schema = (v.schema?.openAPIV3Schema ?? { type: 'object' }) as Record<string, unknown>;
    const properties = { ...((schema.properties as Record<string, unknown>) ?? {}) };
    if (!properties.spec && !schema['x-kubernetes-preserve-unknown-fields']) {
      properties.spec = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
    }
    properties.status = RESOURCE_STATUS_SCHEMA;
    return {
      ...v,
      schema: { openAPIV3Schema: { ...schema, type: 'object', properties } },
      subresources: { ...(v.subresources ?? {}), status: {} },
      additionalPrinterColumns: v.additionalPrinterColumns?.length
        ? v.additionalPrinterColumns
        : DEFAULT_COLUMNS,
    };
  });
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: api.metadata.name,
      labels: {
        ...(api.metadata.labels ?? {}),
        [PROMISE_NAME_LABEL]: promise,
        [MANAGED_BY_LABEL]: MANAGED_BY,
      },
      ...(api.metadata.annotations || promiseUid
        ? {
            annotations: {
              ...(api.metadata.annotations ?? {}),
              ...(promiseUid ? { [PROMISE_UID_ANNOTATION]: promiseUid } : {}),
            },
          }
        : {}),
    },
    spec: { ...spec, scope: spec.scope ?? 'Namespaced', versions },
  };
}

/** Group, storage version, kind and plural of a Promise API: what the controller watches. */
export function apiTarget(
  api: { spec?: CrdSpec } | undefined,
): { group: string; version: string; kind: string; plural: string; namespaced: boolean } | undefined {
  const s = api?.spec;
  const version = s?.versions?.find((v) => v.storage) ?? s?.versions?.[0];
  if (!s?.group || !s.names?.plural || !s.names.kind || !version) return undefined;
  return {
    group: s.group,
    version: version.name,
    kind: s.names.kind,
    plural: s.names.plural,
    namespaced: s.scope !== 'Cluster',
  };
}

/**
 * Who a CRD that already exists belongs to, seen from the Promise `promise`:
 * - `free`: no CRD yet;
 * - `ours`: installed for this Promise (same name, and the same uid when the CRD records one:
 *   CRDs installed before the uid was recorded carry only the name);
 * - `promise`: installed for another Promise (or an earlier Promise of the same name) — the caller
 *   checks whether that owner still exists;
 * - `foreign`: not created by kratix-temporal at all (no managed-by label).
 */
export type CrdClaim =
  { kind: 'free' } | { kind: 'ours' } | { kind: 'promise'; name: string; uid?: string } | { kind: 'foreign' };

export function crdClaim(
  crd: Pick<KubeObject, 'metadata'> | undefined,
  promise: { name: string; uid?: string },
): CrdClaim {
  if (!crd) return { kind: 'free' };
  const labels = crd.metadata.labels ?? {};
  const owner = labels[PROMISE_NAME_LABEL];
  if (labels[MANAGED_BY_LABEL] !== MANAGED_BY || !owner) return { kind: 'foreign' };
  const uid = crd.metadata.annotations?.[PROMISE_UID_ANNOTATION];
  if (owner === promise.name && (!uid || !promise.uid || uid === promise.uid)) return { kind: 'ours' };
  return { kind: 'promise', name: owner, ...(uid ? { uid } : {}) };
}
