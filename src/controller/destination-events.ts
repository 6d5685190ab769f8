import { tmpdir } from 'node:os';
import path from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';
import { KRATIX_GROUP, KRATIX_VERSION } from '../core/constants.js';
import { destinationLayout, destinationRoot } from '../core/destination-layout.js';
import { combineSelectors, matches } from '../core/destinations.js';
import { promiseWorkflowId } from '../core/names.js';
import type { KratixPromise } from '../core/types.js';
import { describeApiError, isConflict, isNotFound, mergePatch, type Kube } from '../kube/client.js';
import { recordEvent } from '../kube/events.js';
import { logger } from '../logger.js';
import { StateStoreAccessError } from '../statestore/writer.js';
import { StateStoreWriters } from '../statestore/writers.js';
import {
  destinationInfo,
  destinationPath,
  StateStoreError,
  type DestinationObject,
} from '../statestore/stores.js';
import { reconcileSignal } from '../../workflows/definitions.js';
import { ResilientInformer } from './watcher.js';

/** Held by a Destination with `cleanup: all` until its files are removed from the state store. */
export const DESTINATION_CLEANUP_FINALIZER = 'kratix.io/destination-cleanup';

type Obj = DestinationObject & k8s.KubernetesObject;
const coords = (plural: string) => ({ group: KRATIX_GROUP, version: KRATIX_VERSION, plural });

/** What decides which output a Destination takes: a change re-offers the Promises' output. */
export function schedulingKey(d: DestinationObject): string {
  const i = destinationInfo(d);
  return JSON.stringify([Object.entries(i.labels).sort(), !!i.strictMatchLabels]);
}

/**
 * Destinations as upstream treats them:
 * - one that appears (or whose labels change) gets the Promises' dependencies and promise-pipeline
 *   output at once: every Promise whose selectors match it is reconciled, instead of
 *   waiting for the reconcile interval (Resources waiting for a Destination retry on their own);
 *   `status.kratix.scheduledKey` records what was offered, so a restarted controller does not
 *   re-run every Promise;
 * - `spec.cleanup: all` holds a finalizer and removes the Destination's files from its state store
 *   when it is deleted (`none`, the default, leaves them).
 */
export class DestinationEvents {
  private informer?: ResilientInformer<Obj>;
  private readonly writers: StateStoreWriters;
  private readonly retry = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly kube: Kube,
    private readonly client: Client,
    private readonly relistMs: number,
  ) {
    this.writers = new StateStoreWriters(kube, path.join(tmpdir(), 'kratix-destination-cleanup'));
  }

  async start(): Promise<void> {
    const { kube } = this;
    this.informer = new ResilientInformer<Obj>(
      'destinations-scheduling',
      kube.kc,
      `/apis/${KRATIX_GROUP}/${KRATIX_VERSION}/destinations`,
      () => kube.custom.listClusterCustomObject(coords('destinations')) as never,
      (ev, d) => (ev === 'delete' ? undefined : this.handle(d)),
      this.relistMs,
    );
    await this.informer.start();
  }

  async stop(): Promise<void> {
    for (const t of this.retry.values()) clearTimeout(t);
    this.retry.clear();
    await this.informer?.stop();
    this.writers.close();
  }

  private async handle(d: Obj): Promise<void> {
    try {
      if (d.metadata.deletionTimestamp) return await this.cleanup(d);
      await this.syncFinalizer(d);
      await this.offerPromises(d);
    } catch (err) {
      if (isConflict(err)) return; // a newer version is on its way to us
      logger.warn(
        { destination: d.metadata.name, err: describeApiError(err) },
        'destination handling failed',
      );
      this.later(d);
    }
  }

  private later(d: Obj): void {
    const name = d.metadata.name;
    clearTimeout(this.retry.get(name));
    this.retry.set(
      name,
      setTimeout(() => {
        this.retry.delete(name);
        void this.kube.custom
          .getClusterCustomObject({ ...coords('destinations'), name })
          .then((fresh) => this.handle(fresh as Obj))
          .catch(() => undefined);
      }, 10_000),
    );
  }

  private async setFinalizers(d: Obj, finalizers: string[]): Promise<void> {
    await this.kube.custom.patchClusterCustomObject(
      {
        ...coords('destinations'),
        name: d.metadata.name,
        body: { metadata: { finalizers, resourceVersion: d.metadata.resourceVersion } },
      },
      mergePatch,
    );
  }

  private async syncFinalizer(d: Obj): Promise<void> {
    const want = destinationLayout(d.spec as Record<string, unknown> | undefined).cleanup === 'all';
    const finalizers = d.metadata.finalizers ?? [];
    const has = finalizers.includes(DESTINATION_CLEANUP_FINALIZER);
    if (want && !has) await this.setFinalizers(d, [...finalizers, DESTINATION_CLEANUP_FINALIZER]);
    if (!want && has)
      await this.setFinalizers(
        d,
        finalizers.filter((f) => f !== DESTINATION_CLEANUP_FINALIZER),
      );
  }

  private async offerPromises(d: Obj): Promise<void> {
    const key = schedulingKey(d);
    const status = d.status?.kratix as { scheduledKey?: string } | undefined;
    if (status?.scheduledKey === key) return;
    const info = destinationInfo(d);
    const promises = (
      (await this.kube.custom.listClusterCustomObject(coords('promises'))) as { items: KratixPromise[] }
    ).items;
    const offered: string[] = [];
    for (const p of promises) {
      // Installing Promises too: their install may have listed Destinations before this one came;
      // the signal queues one more run after the current one.
      if (!p.metadata.uid || p.metadata.deletionTimestamp) continue;
      if (!matches(info, combineSelectors(p.spec?.destinationSelectors, []))) continue;
      try {
        await this.client.workflow
          .getHandle(promiseWorkflowId(p.metadata.name, p.metadata.uid))
          .signal(reconcileSignal, { reason: 'destination-added' });
        offered.push(p.metadata.name);
      } catch (err) {
        // A Promise whose lifecycle is not running (yet) writes its output when it starts.
        logger.debug({ promise: p.metadata.name, err: String(err) }, 'promise not signalled');
      }
    }
    await this.kube.custom.patchClusterCustomObjectStatus(
      {
        ...coords('destinations'),
        name: d.metadata.name,
        body: { status: { kratix: { scheduledKey: key } } },
      },
      mergePatch,
    );
    if (offered.length)
      logger.info({ destination: d.metadata.name, promises: offered }, 'destination offered to promises');
  }

  private async cleanup(d: Obj): Promise<void> {
    if (!d.metadata.finalizers?.includes(DESTINATION_CLEANUP_FINALIZER)) return;
    const target = {
      apiVersion: `${KRATIX_GROUP}/${KRATIX_VERSION}`,
      kind: 'Destination',
      name: d.metadata.name,
      uid: d.metadata.uid,
    };
    try {
      const { store, writer } = await this.writers.forDestination(d);
      const dir = destinationRoot(store.spec?.path, destinationPath(d));
      if (dir) {
        await writer.write({
          dir,
          files: [],
          message: `Destination ${d.metadata.name}: cleanup all`,
        });
        await recordEvent(this.kube, target, 'Normal', 'CleanedUp', `Removed ${dir}/ from the state store`);
      } else {
        // Its files share the repository root with everything else: never wipe a whole repository.
        await recordEvent(
          this.kube,
          target,
          'Warning',
          'CleanupSkipped',
          'cleanup: all is not applied to a Destination at the repository root; its files were left in place',
        );
      }
    } catch (err) {
      if (err instanceof StateStoreAccessError) {
        await recordEvent(
          this.kube,
          target,
          'Warning',
          'CleanupFailed',
          `Cannot remove files: ${err.message}`,
        );
        this.later(d);
        return;
      }
      // No usable store (deleted, misconfigured): nothing can be removed, so do not hold the delete.
      if (!(err instanceof StateStoreError)) throw err;
      await recordEvent(this.kube, target, 'Warning', 'CleanupSkipped', `Files not removed: ${err.message}`);
    }
    try {
      await this.setFinalizers(
        d,
        (d.metadata.finalizers ?? []).filter((f) => f !== DESTINATION_CLEANUP_FINALIZER),
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
