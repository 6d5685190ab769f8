import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { PLATFORM_NAMESPACE } from '../core/constants.js';
import { isConflict, isNotFound, type Kube } from '../kube/client.js';
import { logger } from '../logger.js';

export interface LeaderElectionOptions {
  leaseName?: string;
  namespace?: string;
  identity?: string;
  leaseDurationSeconds?: number;
  renewIntervalMs?: number;
}

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

// Leases are written through the generic client with our own MicroTime strings: the API server
// parses renewTime/acquireTime with exactly six fractional digits.
const LEASE = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases' };
const microTime = (d = new Date()) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

/**
 * Lease-based leader election (coordination.k8s.io/v1), as client-go does it: one active
 * controller at a time; a standby takes over once the holder stops renewing.
 */
export class LeaderElection {
  readonly identity: string;
  private readonly leaseName: string;
  private readonly namespace: string;
  private readonly durationS: number;
  private readonly renewMs: number;
  private timer?: NodeJS.Timeout;
  private leading = false;
  private lastRenew = 0;
  private stopped = false;

  constructor(
    private readonly kube: Kube,
    opts: LeaderElectionOptions = {},
  ) {
    this.identity = opts.identity ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.leaseName = opts.leaseName ?? 'kratix-temporal-controller';
    this.namespace = opts.namespace ?? PLATFORM_NAMESPACE;
    this.durationS = opts.leaseDurationSeconds ?? 15;
    this.renewMs = opts.renewIntervalMs ?? 5_000;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** Campaigns until stopped; calls `onLead` when leadership is won and `onLose` when it is lost. */
  start(onLead: () => Promise<void>, onLose: () => Promise<void>): void {
    const tick = async () => {
      if (this.stopped) return;
      let held = false;
      try {
        held = await this.tryAcquireOrRenew();
      } catch (err) {
        logger.warn({ err: String(err) }, 'leader election: lease update failed');
      }
      if (held) this.lastRenew = Date.now();
      const stillValid = held || Date.now() - this.lastRenew < this.durationS * 1000 * 0.8;
      if (held && !this.leading) {
        this.leading = true;
        logger.info({ identity: this.identity, lease: this.leaseName }, 'became leader');
        await onLead().catch((err: unknown) =>
          logger.error({ err: String(err) }, 'starting as leader failed'),
        );
      } else if (!stillValid && this.leading) {
        this.leading = false;
        logger.warn({ identity: this.identity }, 'lost leadership');
        await onLose().catch((err: unknown) =>
          logger.error({ err: String(err) }, 'stopping after losing leadership failed'),
        );
      }
      if (!this.stopped) this.timer = setTimeout(() => void tick(), this.renewMs);
    };
    void tick();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const coords = { ...LEASE, namespace: this.namespace };
    let lease: Lease | undefined;
    try {
      lease = (await this.kube.custom.getNamespacedCustomObject({
        ...coords,
        name: this.leaseName,
      })) as Lease;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const now = microTime();
    if (!lease) {
      try {
        await this.kube.custom.createNamespacedCustomObject({
          ...coords,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: this.leaseName, namespace: this.namespace },
            spec: {
              holderIdentity: this.identity,
              leaseDurationSeconds: this.durationS,
              acquireTime: now,
              renewTime: now,
              leaseTransitions: 0,
            },
          },
        });
        return true;
      } catch (err) {
        if (isConflict(err)) return false;
        throw err;
      }
    }
    const spec = lease.spec ?? {};
    const mine = spec.holderIdentity === this.identity;
    const expired =
      !spec.holderIdentity ||
      !spec.renewTime ||
      Date.parse(spec.renewTime) + (spec.leaseDurationSeconds ?? this.durationS) * 1000 < Date.now();
    if (!mine && !expired) return false;
    try {
      await this.kube.custom.replaceNamespacedCustomObject({
        ...coords,
        name: this.leaseName,
        body: {
          ...lease,
          spec: {
            holderIdentity: this.identity,
            leaseDurationSeconds: this.durationS,
            acquireTime: mine ? spec.acquireTime : now,
            renewTime: now,
            leaseTransitions: (spec.leaseTransitions ?? 0) + (mine ? 0 : 1),
          },
        },
      });
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }

  /** Stops campaigning and releases the lease so a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    try {
      const coords = { ...LEASE, namespace: this.namespace, name: this.leaseName };
      const lease = (await this.kube.custom.getNamespacedCustomObject(coords)) as Lease;
      if (lease.spec?.holderIdentity === this.identity) {
        await this.kube.custom.replaceNamespacedCustomObject({
          ...coords,
          body: { ...lease, spec: { ...lease.spec, holderIdentity: '', renewTime: microTime(new Date(0)) } },
        });
      }
    } catch (err) {
      logger.warn({ err: String(err) }, 'leader election: could not release the lease');
    }
  }
}
