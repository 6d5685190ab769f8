// `<kind>/<name>` as kubectl reads it: `redis/example`, `redis.marketplace.kratix.io/example`,
// `promise/redis`. Kinds come from the installed Promises' APIs. Pure.
import { apiTarget } from '../core/crd.js';
import type { CrdSpec, KratixPromise, ResourceRef } from '../core/types.js';

export type Target = { type: 'promise'; promise: string } | ({ type: 'resource' } & Omit<ResourceRef, 'uid'>);

export function parseTargetArg(arg: string): { kind: string; name: string } {
  const i = arg.indexOf('/');
  if (i <= 0 || i === arg.length - 1 || arg.indexOf('/', i + 1) >= 0)
    throw new Error(`"${arg}": expected <kind>/<name>, e.g. redis/example or promise/redis`);
  return { kind: arg.slice(0, i), name: arg.slice(i + 1) };
}

const PROMISE_KINDS = new Set([
  'promise',
  'promises',
  'promise.platform.kratix.io',
  'promises.platform.kratix.io',
]);

/** The names kubectl accepts for a kind: kind, plural, singular, short names, each also with `.group`. */
export function kindNames(spec: CrdSpec): string[] {
  const n = spec.names;
  const base = [n.kind, n.plural, n.singular, ...(n.shortNames ?? [])]
    .filter((x): x is string => !!x)
    .map((x) => x.toLowerCase());
  return [...new Set([...base, ...base.map((b) => `${b}.${spec.group}`)])];
}

export function resolveTarget(arg: string, namespace: string, promises: KratixPromise[]): Target {
  const { kind, name } = parseTargetArg(arg);
  const wanted = kind.toLowerCase();
  if (PROMISE_KINDS.has(wanted)) return { type: 'promise', promise: name };
  const found = promises.filter((p) => {
    const spec = (p.spec?.api as { spec?: CrdSpec } | undefined)?.spec;
    return spec?.names && kindNames(spec).includes(wanted);
  });
  if (found.length === 0)
    throw new Error(
      `no Promise provides the kind "${kind}" (Promises: ${promises.map((p) => p.metadata.name).join(', ') || 'none'})`,
    );
  if (found.length > 1)
    throw new Error(
      `"${kind}" is ambiguous: Promises ${found.map((p) => p.metadata.name).join(', ')}; use <plural>.<group>/${name}`,
    );
  const p = found[0]!;
  const t = apiTarget(p.spec?.api as { spec?: CrdSpec } | undefined)!;
  return {
    type: 'resource',
    promise: p.metadata.name,
    group: t.group,
    version: t.version,
    kind: t.kind,
    plural: t.plural,
    namespace,
    name,
  };
}

export function describeTarget(t: Target): string {
  return t.type === 'promise' ? `Promise ${t.promise}` : `${t.kind} ${t.namespace}/${t.name}`;
}

function targetQuery(t: Target): string {
  const q = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return t.type === 'promise'
    ? `KratixPromise = ${q(t.promise)} AND KratixWorkflowType = 'promise'`
    : `KratixPromise = ${q(t.promise)} AND KratixResourceNamespace = ${q(t.namespace)} AND KratixResourceName = ${q(t.name)}`;
}

/** The visibility query for a target's runs that are child executions (delete runs, older configure runs). */
export function runsQuery(t: Target): string {
  return `${targetQuery(t)} AND (WorkflowType = 'configureRun' OR WorkflowType = 'deleteRun')`;
}

/** The visibility query for a target's lifecycle executions (its configure runs run inside them). */
export function lifecyclesQuery(t: Target): string {
  const type = t.type === 'promise' ? 'promiseLifecycle' : 'resourceLifecycle';
  return `${targetQuery(t)} AND WorkflowType = '${type}'`;
}
