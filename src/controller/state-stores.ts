import { tmpdir } from 'node:os';
import path from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { KRATIX_GROUP, KRATIX_VERSION } from '../core/constants.js';
import type { Condition } from '../core/types.js';
import { setCondition } from '../core/status.js';
import {
  UNSUPPORTED_CONDITION,
  UNSUPPORTED_REASON,
  unsupportedDestinationFields,
  unsupportedMessage,
} from '../core/upstream-compat.js';
import { mergePatch, type Kube } from '../kube/client.js';
import { recordEvent } from '../kube/events.js';
import { logger } from '../logger.js';
import {
  readyCondition,
  STATE_STORE_PLURALS,
  StateStoreError,
  stateStoreRefOf,
  type DestinationObject,
  type StateStoreKind,
  type StateStoreObject,
} from '../statestore/stores.js';
import { ACCESS_ERROR_REASONS, StateStoreAccessError } from '../statestore/writer.js';
import { StateStoreWriters } from '../statestore/writers.js';
import { ResilientInformer } from './watcher.js';

const KINDS: StateStoreKind[] = ['GitStateStore', 'BucketStateStore'];

type Obj<T> = T & k8s.KubernetesObject;
const coords = (plural: string) => ({ group: KRATIX_GROUP, version: KRATIX_VERSION, plural });

interface Health {
  ok: boolean;
  reason: string;
  message: string;
}

/**
 * Keeps GitStateStore, BucketStateStore and Destination readiness in their status: checks each
 * store with its credentials (through the same writers the activities use) on every change and
 * every `intervalMs`, so a fixed Secret or a store that comes back recovers by itself.
 */
export class StateStoreHealth {
  private readonly stores = new Map<StateStoreKind, ResilientInformer<Obj<StateStoreObject>>>();
  private destinations?: ResilientInformer<Obj<DestinationObject>>;
  private timer?: NodeJS.Timeout;
  private running = false;
  private readonly writers: StateStoreWriters;
  /** By `<kind>/<name>`. */
  private readonly health = new Map<string, Health>();

  constructor(
    private readonly kube: Kube,
    private readonly intervalMs: number,
    private readonly relistMs: number,
  ) {
    this.writers = new StateStoreWriters(kube, path.join(tmpdir(), 'kratix-health'));
  }

  private stopped = false;

  async start(): Promise<void> {
    const { kube } = this;
    for (const kind of KINDS) {
      const plural = STATE_STORE_PLURALS[kind];
      this.stores.set(
        kind,
        new ResilientInformer<Obj<StateStoreObject>>(
          plural,
          kube.kc,
          `/apis/${KRATIX_GROUP}/${KRATIX_VERSION}/${plural}`,
          () => kube.custom.listClusterCustomObject(coords(plural)) as never,
          (ev) => (ev === 'delete' ? undefined : this.checkAll()),
          this.relistMs,
        ),
      );
    }
    this.destinations = new ResilientInformer<Obj<DestinationObject>>(
      'destinations',
      kube.kc,
      `/apis/${KRATIX_GROUP}/${KRATIX_VERSION}/destinations`,
      () => kube.custom.listClusterCustomObject(coords('destinations')) as never,
      (ev) => (ev === 'delete' ? undefined : this.checkAll()),
      this.relistMs,
    );
    await Promise.all([...[...this.stores.values()].map((i) => i.start()), this.destinations.start()]);
    // A stop() that came while the informers started (leadership lost at once) wins.
    if (this.stopped) return void (await this.stop());
    this.timer = setInterval(() => void this.checkAll(), this.intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await Promise.all([...[...this.stores.values()].map((i) => i.stop()), this.destinations?.stop()]);
    this.writers.close();
  }

  private async checkStore(kind: StateStoreKind, s: StateStoreObject): Promise<Health> {
    try {
      await (await this.writers.forStore(kind, s)).check();
      if (kind === 'BucketStateStore') {
        const spec = (s as { spec?: { bucketName?: string } }).spec;
        return {
          ok: true,
          reason: 'BucketReachable',
          message: `Bucket ${spec?.bucketName} reachable and writable`,
        };
      }
      const branch = (s as { spec?: { branch?: string } }).spec?.branch || 'main';
      return { ok: true, reason: 'RepositoryReachable', message: `Repository reachable (branch ${branch})` };
    } catch (err) {
      if (err instanceof StateStoreError)
        return { ok: false, reason: 'InvalidConfiguration', message: err.message };
      if (err instanceof StateStoreAccessError) {
        return { ok: false, reason: ACCESS_ERROR_REASONS[err.kind], message: err.message };
      }
      return { ok: false, reason: 'Error', message: String(err) };
    }
  }

  private destinationHealth(d: DestinationObject): Health {
    let ref: { kind: StateStoreKind; name: string };
    try {
      ref = stateStoreRefOf(d);
    } catch (err) {
      return { ok: false, reason: 'InvalidConfiguration', message: (err as Error).message };
    }
    const store = this.health.get(`${ref.kind}/${ref.name}`);
    const named = `${ref.kind} ${ref.name}`;
    if (!store) return { ok: false, reason: 'StateStoreNotFound', message: `${named} not found` };
    if (store.ok) return { ok: true, reason: 'StateStoreReady', message: `Ready (${named})` };
    return { ok: false, reason: 'StateStoreNotReady', message: `${named} is not ready: ${store.message}` };
  }

  /** Serialised: a burst of watch events becomes one or two passes. */
  private async checkAll(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const seen = new Set<string>();
      for (const [kind, informer] of this.stores) {
        for (const s of informer.list()) {
          const h = await this.checkStore(kind, s);
          seen.add(`${kind}/${s.metadata.name}`);
          this.health.set(`${kind}/${s.metadata.name}`, h);
          await this.report(STATE_STORE_PLURALS[kind], kind, s, h);
        }
      }
      for (const key of this.health.keys()) if (!seen.has(key)) this.health.delete(key);
      for (const d of this.destinations?.list() ?? []) {
        await this.report('destinations', 'Destination', d, this.destinationHealth(d));
        await this.reportUnsupported(d);
      }
    } catch (err) {
      logger.warn({ err: String(err) }, 'state store health check failed');
    } finally {
      this.running = false;
    }
  }

  /** Upstream fields this Destination sets that have no effect: condition + Warning Event. */
  private async reportUnsupported(d: DestinationObject): Promise<void> {
    const fields = unsupportedDestinationFields(d as { spec?: Record<string, unknown> });
    const conditions = d.status?.conditions as Condition[] | undefined;
    const prev = conditions?.find((c) => c.type === UNSUPPORTED_CONDITION);
    const message = fields.length ? unsupportedMessage(fields) : '';
    if (!fields.length && prev?.status !== 'True') return;
    if (fields.length && prev?.status === 'True' && prev.message === message) return;
    // Re-read: report() may have just replaced the conditions list.
    const fresh = (await this.kube.custom.getClusterCustomObject({
      ...coords('destinations'),
      name: d.metadata.name,
    })) as DestinationObject;
    const next = setCondition(
      fresh.status?.conditions as Condition[] | undefined,
      fields.length
        ? { type: UNSUPPORTED_CONDITION, status: 'True', reason: UNSUPPORTED_REASON, message }
        : {
            type: UNSUPPORTED_CONDITION,
            status: 'False',
            reason: 'AllFieldsSupported',
            message: 'No unsupported fields',
          },
      new Date().toISOString(),
    );
    await this.kube.custom.patchClusterCustomObjectStatus(
      { ...coords('destinations'), name: d.metadata.name, body: { status: { conditions: next } } },
      mergePatch,
    );
    if (fields.length)
      await recordEvent(
        this.kube,
        {
          apiVersion: `${KRATIX_GROUP}/${KRATIX_VERSION}`,
          kind: 'Destination',
          name: d.metadata.name,
          uid: d.metadata.uid,
        },
        'Warning',
        UNSUPPORTED_CONDITION,
        message,
      );
  }

  private async report(
    plural: string,
    kind: string,
    obj: StateStoreObject | DestinationObject,
    h: Health,
  ): Promise<void> {
    const prev = (obj.status?.conditions as Condition[] | undefined)?.find((c) => c.type === 'Ready');
    const overall = kind === 'Destination' || obj.status?.status === (h.ok ? 'Ready' : 'NotReady');
    if (prev && prev.status === (h.ok ? 'True' : 'False') && prev.message === h.message && overall) return;
    await this.kube.custom.patchClusterCustomObjectStatus(
      {
        ...coords(plural),
        name: obj.metadata.name,
        body: {
          status: {
            // Upstream's overall field on state stores (Ready / NotReady).
            ...(kind === 'Destination' ? {} : { status: h.ok ? 'Ready' : 'NotReady' }),
            message: h.message,
            conditions: readyCondition(
              h.ok,
              h.reason,
              h.message,
              obj.status?.conditions as Condition[] | undefined,
            ),
          },
        },
      },
      mergePatch,
    );
    await recordEvent(
      this.kube,
      {
        apiVersion: `${KRATIX_GROUP}/${KRATIX_VERSION}`,
        kind,
        name: obj.metadata.name,
        uid: obj.metadata.uid,
      },
      h.ok ? 'Normal' : 'Warning',
      h.ok ? 'Ready' : h.reason,
      h.message,
    );
  }
}
