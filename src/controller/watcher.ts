import * as k8s from '@kubernetes/client-node';
import { describeApiError } from '../kube/client.js';
import { logger } from '../logger.js';
import { WatchBackoff } from '../core/scheduling.js';

export type WatchHandler<T> = (event: 'add' | 'update' | 'delete', obj: T) => void | Promise<void>;

type Informer<T extends k8s.KubernetesObject> = k8s.Informer<T> & k8s.ObjectCache<T>;

/**
 * An informer that keeps going. client-node 1.x informers stop on any error but 410, can hang
 * silently, and reuse one request slot across stop/start (an aborted request's late callback can
 * abort its successor). So every restart builds a fresh informer: it re-lists, handlers see the
 * current state of every object again (cheap: the controller only signals what changed), and
 * objects that vanished meanwhile are reported as deleted. Restarts happen after errors (with
 * exponential backoff) and every `relistIntervalMs`. Handler exceptions are caught so one bad
 * object never stops the watch.
 */
export class ResilientInformer<T extends k8s.KubernetesObject> {
  private informer?: Informer<T>;
  /** The newest informer whose list completed: reads come from it, never from a half-filled one. */
  private ready?: Informer<T>;
  private generation = 0;
  private readonly backoff = new WatchBackoff();
  private stopped = false;
  private relistTimer?: NodeJS.Timeout;
  private restartTimer?: NodeJS.Timeout;
  /** Whether an informer reported an error (its list may be incomplete). */
  private readonly failed = new WeakMap<Informer<T>, boolean>();

  constructor(
    private readonly name: string,
    private readonly kc: k8s.KubeConfig,
    private readonly path: string,
    private readonly listFn: () => Promise<k8s.KubernetesListObject<T>>,
    private readonly handler: WatchHandler<T>,
    private readonly relistIntervalMs: number,
  ) {}

  /** A new informer whose events count only while it is the current one. */
  private create(): Informer<T> {
    const informer = k8s.makeInformer<T>(this.kc, this.path, this.listFn);
    this.failed.set(informer, false);
    const generation = ++this.generation;
    const current = () => generation === this.generation && !this.stopped;
    for (const ev of ['add', 'update', 'delete'] as const) {
      informer.on(ev, (obj: T) => {
        if (current()) void this.safe(ev, obj);
      });
    }
    informer.on('connect', () => {
      if (current()) this.backoff.connected(Date.now());
    });
    informer.on('error', (err: unknown) => {
      this.failed.set(informer, true);
      if (!current() || (err as Error)?.name === 'AbortError') return;
      const retryInMs = this.backoff.failed(Date.now());
      // A just-created CRD's watch cache is not ready for a second or so: expected, not a warning.
      const level = /storage is \(re\)initializing/.test(describeApiError(err)) ? 'debug' : 'warn';
      logger[level](
        { informer: this.name, err: describeApiError(err), retryInMs },
        'watch failed; restarting',
      );
      this.scheduleRestart(retryInMs);
    });
    return informer;
  }

  private scheduleRestart(delayMs: number): void {
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => void this.restart(), delayMs);
  }

  private async safe(ev: 'add' | 'update' | 'delete', obj: T): Promise<void> {
    try {
      await this.handler(ev, obj);
    } catch (err) {
      logger.error({ informer: this.name, name: obj.metadata?.name, err: String(err) }, 'handler failed');
    }
  }

  private async restart(): Promise<void> {
    if (this.stopped) return;
    const old = this.informer;
    const informer = (this.informer = this.create());
    await old?.stop().catch(() => undefined);
    try {
      await informer.start(); // list failures arrive as 'error' events (which schedule a restart)
    } catch (err) {
      if (informer !== this.informer || this.stopped) return;
      const retryInMs = this.backoff.failed(Date.now());
      logger.warn({ informer: this.name, err: describeApiError(err), retryInMs }, 'list failed; retrying');
      this.scheduleRestart(retryInMs);
      return;
    }
    if (informer === this.informer && !this.failed.get(informer)) this.ready = informer;
    // Objects the old informer knew that the new list lacks were deleted while we were not
    // watching (only when the new list really succeeded).
    if (old && informer === this.informer && !this.stopped && !this.failed.get(informer)) {
      const present = new Set(informer.list().map((o) => o.metadata?.uid));
      for (const o of old.list()) if (!present.has(o.metadata?.uid)) void this.safe('delete', o);
    }
  }

  async start(): Promise<void> {
    this.relistTimer = setInterval(() => void this.restart(), this.relistIntervalMs);
    await this.restart();
  }

  list(): readonly T[] {
    return (this.ready ?? this.informer)?.list() ?? [];
  }

  /** Whether a list has completed: until then list() and get() know nothing. */
  hasSynced(): boolean {
    return this.ready !== undefined;
  }

  /** A cluster-scoped object by name (or a namespaced one with `namespace`), from the last complete list and the watch since. */
  get(name: string, namespace?: string): T | undefined {
    return this.ready?.get(name, namespace);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.relistTimer);
    clearTimeout(this.restartTimer);
    await this.informer?.stop();
  }
}
