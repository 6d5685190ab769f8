// What `kratix-temporal test` reads: the Promise, the example Resources and the Destinations to
// schedule to. Pure, unit-tested.
import { parseAllDocuments } from 'yaml';
import { apiTarget } from '../core/crd.js';
import type { DestinationInfo } from '../core/destinations.js';
import type { CrdSpec, KratixPromise, KubeObject } from '../core/types.js';

/** Every non-empty YAML document of a file, refusing invalid YAML with the document's number. */
export function parseDocuments(text: string, file: string): KubeObject[] {
  return parseAllDocuments(text).flatMap((doc, i) => {
    if (doc.errors.length)
      throw new Error(`${file}: invalid YAML in document ${i + 1}: ${doc.errors[0]!.message.split('\n')[0]}`);
    const v = doc.toJS() as unknown;
    if (v === null || v === undefined) return [];
    const o = v as KubeObject;
    if (typeof o !== 'object' || Array.isArray(o) || !o.kind || !o.metadata?.name)
      throw new Error(`${file}: document ${i + 1} is not a Kubernetes object (needs kind and metadata.name)`);
    return [o];
  });
}

/** The one Promise among `docs`. */
export function findPromise(docs: KubeObject[], file: string): KratixPromise {
  const promises = docs.filter((d) => d.kind === 'Promise');
  if (promises.length !== 1) throw new Error(`${file}: expected one Promise, found ${promises.length}`);
  return promises[0] as KratixPromise;
}

/**
 * `--destination [name:]key=value,key=value`: one Destination with those labels (its name, if not
 * given, is `destination-<n>`). A bare `name` is a Destination without labels.
 */
export function parseDestination(spec: string, n: number): DestinationInfo {
  const colon = spec.indexOf(':');
  const eq = spec.indexOf('=');
  let name: string | undefined;
  let rest = spec;
  if (colon >= 0 && (eq < 0 || colon < eq)) {
    name = spec.slice(0, colon);
    rest = spec.slice(colon + 1);
  } else if (eq < 0) {
    name = spec;
    rest = '';
  }
  const labels: Record<string, string> = {};
  for (const pair of rest.split(',').filter(Boolean)) {
    const i = pair.indexOf('=');
    if (i <= 0) throw new Error(`--destination ${spec}: "${pair}" is not key=value`);
    labels[pair.slice(0, i).trim()] = pair.slice(i + 1).trim();
  }
  name = name?.trim() || `destination-${n}`;
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name))
    throw new Error(`--destination ${spec}: "${name}" is not a valid Destination name`);
  return { name, labels };
}

/**
 * The Destinations of a test: those given, else one named `default` carrying the labels the
 * Promise's destinationSelectors ask for (so a Promise that selects still gets its files).
 */
export function testDestinations(specs: string[], promise: KratixPromise): DestinationInfo[] {
  if (specs.length) {
    const list = specs.map((s, i) => parseDestination(s, i + 1));
    const names = new Set<string>();
    for (const d of list) {
      if (names.has(d.name)) throw new Error(`--destination ${d.name} is given twice`);
      names.add(d.name);
    }
    return list;
  }
  const labels: Record<string, string> = {};
  for (const s of promise.spec?.destinationSelectors ?? [])
    for (const [k, v] of Object.entries(s.matchLabels ?? {})) labels[k] = String(v);
  return [{ name: 'default', labels }];
}

type Schema = { properties?: Record<string, Schema>; default?: unknown; type?: string };

/** Fills `default`s of an OpenAPI v3 schema into `value`, as the API server does on create. */
export function applySchemaDefaults(schema: Schema | undefined, value: unknown): unknown {
  if (!schema?.properties || value === null || typeof value !== 'object' || Array.isArray(value))
    return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [k, sub] of Object.entries(schema.properties)) {
    if (out[k] === undefined && sub.default !== undefined) out[k] = structuredClone(sub.default);
    if (out[k] !== undefined) out[k] = applySchemaDefaults(sub, out[k]);
  }
  return out;
}

/** A Resource of the Promise's API as the API server would store it: namespace and defaults filled in. */
export function prepareResource(promise: KratixPromise, doc: KubeObject, file: string): KubeObject {
  const target = apiTarget(promise.spec?.api as { spec?: CrdSpec } | undefined);
  if (!target) throw new Error(`Promise ${promise.metadata.name} has no valid spec.api`);
  const [group, version] = String(doc.apiVersion ?? '').split('/');
  if (doc.kind !== target.kind || group !== target.group)
    throw new Error(
      `${file}: ${doc.kind} ${doc.metadata.name} (${doc.apiVersion}) is not of the Promise's API ${target.kind} (${target.group})`,
    );
  const crdVersion = (promise.spec?.api as { spec?: CrdSpec }).spec?.versions.find((v) => v.name === version);
  if (!crdVersion) throw new Error(`${file}: the Promise's API has no version ${version}`);
  const schema = crdVersion.schema?.openAPIV3Schema as Schema | undefined;
  const spec = applySchemaDefaults(schema?.properties?.spec, doc.spec ?? {}) as Record<string, unknown>;
  return {
    apiVersion: doc.apiVersion,
    kind: doc.kind,
    metadata: {
      ...doc.metadata,
      ...(target.namespaced ? { namespace: doc.metadata.namespace ?? 'default' } : {}),
      generation: 1,
    },
    spec,
  };
}
