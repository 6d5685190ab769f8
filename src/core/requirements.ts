// spec.requiredPromises: which required Promises are missing, at the wrong version or not
// Available, in words a person can act on. Pure: the caller looks the Promises up.
import { findCondition } from './status.js';
import type { KratixPromise } from './types.js';

/** Upstream's label for a Promise's version (also shown as `status.version`). */
export const PROMISE_VERSION_LABEL = 'kratix.io/promise-version';

export interface RequiredPromise {
  name: string;
  version?: string;
}

export interface RequirementStatus {
  name: string;
  version?: string;
  state:
    | 'Requirement installed'
    | 'Requirement not installed'
    | 'Requirement not installed at the specified version'
    | 'Requirement not available';
}

export interface RequirementsResult {
  fulfilled: boolean;
  /** Condition reason: RequirementsInstalled, RequirementsNotInstalled or RequirementsNotAvailable. */
  reason: string;
  message: string;
  requiredPromises: RequirementStatus[];
}

export function promiseVersion(p: KratixPromise): string | undefined {
  const v = p.metadata.labels?.[PROMISE_VERSION_LABEL] ?? p.status?.version;
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The Promise's spec.requiredPromises, ignoring entries without a name. */
export function requiredPromisesOf(p: KratixPromise): RequiredPromise[] {
  const list = (p.spec as { requiredPromises?: unknown } | undefined)?.requiredPromises;
  if (!Array.isArray(list)) return [];
  return list
    .filter(
      (r): r is RequiredPromise =>
        typeof (r as RequiredPromise)?.name === 'string' && (r as RequiredPromise).name !== '',
    )
    .map((r) => ({ name: r.name, ...(r.version ? { version: String(r.version) } : {}) }));
}

/** Evaluates each requirement against the Promise found under its name (undefined: none). */
export function evaluateRequirements(
  required: RequiredPromise[],
  lookup: (name: string) => KratixPromise | undefined,
): RequirementsResult {
  const statuses: RequirementStatus[] = [];
  const problems: string[] = [];
  let reason = 'RequirementsInstalled';
  for (const req of required) {
    const p = lookup(req.name);
    const at = req.version ? ` at version ${req.version}` : '';
    let state: RequirementStatus['state'] = 'Requirement installed';
    if (!p) {
      state = 'Requirement not installed';
      problems.push(`Promise "${req.name}"${at} is not installed`);
      reason = 'RequirementsNotInstalled';
    } else if (req.version && promiseVersion(p) !== req.version) {
      state = 'Requirement not installed at the specified version';
      const has = promiseVersion(p);
      problems.push(
        `Promise "${req.name}"${at} is not installed (${has ? `installed at version ${has}` : 'installed without a version'})`,
      );
      reason = 'RequirementsNotInstalled';
    } else if (findCondition(p.status, 'Available')?.status !== 'True') {
      state = 'Requirement not available';
      problems.push(`Promise "${req.name}"${at} is not Available`);
      if (reason === 'RequirementsInstalled') reason = 'RequirementsNotAvailable';
    }
    statuses.push({ name: req.name, ...(req.version ? { version: req.version } : {}), state });
  }
  return problems.length
    ? {
        fulfilled: false,
        reason,
        message: `Requirements not fulfilled: ${problems.join('; ')}`,
        requiredPromises: statuses,
      }
    : { fulfilled: true, reason, message: 'Requirements fulfilled', requiredPromises: statuses };
}
