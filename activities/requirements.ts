// spec.requiredPromises on the Promise's status: RequirementsFulfilled, status.requiredPromises,
// and while unmet Available=False naming what is missing (so its Resources wait too).
import { evaluateRequirements, requiredPromisesOf } from '../src/core/requirements.js';
import { findCondition, setCondition } from '../src/core/status.js';
import type { Condition, KratixPromise } from '../src/core/types.js';
import type { Kube } from '../src/kube/client.js';
import { recordEvent } from '../src/kube/events.js';
import { patchPromiseStatus, readPromise } from '../src/kube/objects.js';
import { objectAccess } from './access.js';

/** Available's reason while required Promises are missing. */
export const REQUIREMENTS_REASON = 'RequirementsNotFulfilled';
const UNMET_PREFIX = 'Requirements not fulfilled';

/** Records the Promise's requirements; returns the message naming what is missing, if anything. */
export async function checkRequirements(kube: Kube, name: string, uid: string): Promise<string | undefined> {
  const p = await readPromise(kube, name);
  if (!p || p.metadata.uid !== uid) return undefined;
  const required = requiredPromisesOf(p);
  const before = findCondition(p.status, 'RequirementsFulfilled');
  if (!required.length && !before) return undefined;
  const found = new Map<string, KratixPromise | undefined>();
  for (const r of required) found.set(r.name, await readPromise(kube, r.name));
  const result = evaluateRequirements(required, (n) => found.get(n));
  const time = new Date().toISOString();
  let conditions = setCondition(
    p.status?.conditions as Condition[] | undefined,
    {
      type: 'RequirementsFulfilled',
      status: result.fulfilled ? 'True' : 'False',
      reason: result.reason,
      message: result.message,
    },
    time,
  );
  if (!result.fulfilled)
    conditions = setCondition(
      conditions,
      { type: 'Available', status: 'False', reason: REQUIREMENTS_REASON, message: result.message },
      time,
    );
  const message = p.status?.message;
  await patchPromiseStatus(kube, name, {
    conditions,
    requiredPromises: result.requiredPromises,
    ...(!result.fulfilled
      ? { message: result.message }
      : typeof message === 'string' && message.startsWith(UNMET_PREFIX)
        ? { message: 'Pending' }
        : {}),
  });
  const event = objectAccess(kube, { type: 'promise', promise: name, uid }).event;
  if (!result.fulfilled && (before?.status !== 'False' || before.message !== result.message))
    await recordEvent(kube, event, 'Warning', REQUIREMENTS_REASON, result.message);
  if (result.fulfilled && required.length && before?.status !== 'True')
    await recordEvent(kube, event, 'Normal', 'RequirementsFulfilled', 'All required Promises are available');
  return result.fulfilled ? undefined : result.message;
}
