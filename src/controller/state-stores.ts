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
import { GitError, GitWriter } from '../statestore/git.js';
import {
  gitRepoFor,
  readyCondition,
  StateStoreError,
  type DestinationObject,
  type GitStateStoreObject,
} from '../statestore/stores.js';
import { ResilientInformer } from './watcher.js';

/** The Ready condition's reason for each kind of git failure. */
const GIT_ERROR_REASONS: Record<GitError['kind'], string> = {
  auth: 'AuthenticationFailed',
  hostkey: 'HostKeyVerificationFailed',
  unreachable: 'Unreachable',
  rejected: 'GitError',
  other: 'GitError',
};

type Obj<T> = T & k8s.KubernetesObject;
const coords = (plural: string) => ({ group: KRATIX_GROUP, version: KRATIX_VERSION, plural });

interface Health {
  ok: boolean;
  reason: string;
  message: string;
}

/**
 * Keeps GitStateStore and Destination readiness in their status: checks each store's repository
 * with its credentials on every change and every `intervalMs`, so a fixed Secret or a repository
 * that comes back recovers by itself.
 */
export class StateStoreHealth {
  private stores?: ResilientInformer<Obj<GitStateStoreObject>>;
  private destinations?: ResilientInformer<Obj<DestinationObject>>;
  private timer?: NodeJS.Timeout;
  private running = false;
  private readonly git = new GitWriter(path.join(tmpdir(), 'kratix-health'));
  private readonly health = new Map<string, Health>();

  constructor(
    private readonly kube: Kube,
    private readonly intervalMs: number,
    private readonly relistMs: number,
  ) {}

  async start(): Promise<void> {
    const { kube } = this;
    this.stores = new ResilientInformer<Obj<GitStateStoreObject>>(
      'gitstatestores',
      kube.kc,
      `/apis/${KRATIX_GROUP}/${KRATIX_VERSION}/gitstatestores`,
      () => kube.custom.listClusterCustomObject(coords('gitstatestores')) as never,
      (ev) => (ev === 'delete' ? undefined : this.checkAll()),
      this.relistMs,
    );
    this.destinations = new ResilientInformer<Obj<DestinationObject>>(
      'destinations',
      kube.kc,
      `/apis/${KRATIX_GROUP}/${KRATIX_VERSION}/destinations`,
      () => kube.custom.listClusterCustomObject(coords('destinations')) as never,
      (ev) => (ev === 'delete' ? undefined : this.checkAll()),
      this.relistMs,
    );
    await Promise.all([this.stores.start(), this.destinations.start()]);
    this.timer = setInterval(() => void this.checkAll(), this.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([this.stores?.stop(), this.destinations?.stop()]);
  }

  private async checkStore(s: GitStateStoreObject): Promise<Health> {
    try {
      await this.git.check(await gitRepoFor(this.kube, s));
      return {
        ok: true,
        reason: 'RepositoryReachable',
        message: `Repository reachable (branch ${s.spec?.branch || 'main'})`,
      };
    } catch (err) {
      if (err instanceof StateStoreError)
        return { ok: false, reason: 'InvalidConfiguration', message: err.message };
      if (err instanceof GitError) {
        const reason = GIT_ERROR_REASONS[err.kind];
        return { ok: false, reason, message: err.message };
      }
      return { ok: false, reason: 'Error', message: String(err) };
    }
  }

  /** Serialised: a burst of watch events becomes one or two passes. */
  private async checkAll(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (const s of this.stores?.list() ?? []) {
        const h = await this.checkStore(s);
        this.health.set(s.metadata.name, h);
        await this.report('gitstatestores', 'GitStateStore', s, h);
      }
      for (const d of this.destinations?.list() ?? []) {
        const storeName = d.spec?.stateStoreRef?.name ?? '';
        const store = this.health.get(storeName);
        const h: Health = !store
          ? { ok: false, reason: 'StateStoreNotFound', message: `GitStateStore ${storeName} not found` }
          : store.ok
            ? { ok: true, reason: 'StateStoreReady', message: `Ready (GitStateStore ${storeName})` }
            : {
                ok: false,
                reason: 'StateStoreNotReady',
                message: `GitStateStore ${storeName} is not ready: ${store.message}`,
              };
        await this.report('destinations', 'Destination', d, h);
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
    obj: GitStateStoreObject | DestinationObject,
    h: Health,
  ): Promise<void> {
    const prev = (obj.status?.conditions as Condition[] | undefined)?.find((c) => c.type === 'Ready');
    if (prev && prev.status === (h.ok ? 'True' : 'False') && prev.message === h.message) return;
    await this.kube.custom.patchClusterCustomObjectStatus(
      {
        ...coords(plural),
        name: obj.metadata.name,
        body: {
          status: {
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
