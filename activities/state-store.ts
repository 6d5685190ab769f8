// State-store writes that are activities of their own (pipeline output is written by runPipeline,
// static dependencies by installPromise): git can be slow, so these get their own timeout.
import { readPromise } from '../src/kube/objects.js';
import { objectAccess } from './access.js';
import type { ActivityDeps } from './deps.js';
import { removeOutput } from './output.js';

export function stateStoreActivities(deps: ActivityDeps) {
  const { kube } = deps;

  /** Removes what an object wrote to the state stores. */
  async function removeFromStateStores(input: { ref: Parameters<typeof removeOutput>[1] }) {
    const acc = objectAccess(kube, input.ref);
    try {
      await removeOutput(
        deps,
        input.ref,
        await acc.read(),
        (await readPromise(kube, input.ref.promise)) ?? undefined,
      );
    } catch (err) {
      // Shown on the object; the activity retries until the store is reachable again.
      const message = `Deleting: cannot remove files from the state store: ${(err as Error).message}`;
      const obj = await acc.read();
      if (obj && obj.status?.message !== message) await acc.patchStatus({ message });
      throw err;
    }
  }

  return { removeFromStateStores };
}
