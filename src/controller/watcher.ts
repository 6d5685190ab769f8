import * as k8s from '@kubernetes/client-node';
import { describeApiError } from '../kube/client.js';
import { logger } from '../logger.js';

export type WatchHandler<T> = (event: 'add' | 'update' | 'delete', obj: T) => void | Promise<void>;

/**
 * An informer that keeps going: restarts after errors with exponential backoff (client-node 1.x
 * stops on any error but 410) and re-lists periodically, because 1.x watches can hang silently.
 * Handler exceptions are caught so one bad object never stops the watch.
 */
export class ResilientInformer<T extends k8s.KubernetesObject> {
  private informer: k8s.Informer<T> & k8s.ObjectCache<T>;
  private backoffMs = 1000;
  private stopped = false;
  /** Set while we stop the informer ourselves: the abort it causes is not a failure. */
  private restarting = false;
  private relistTimer?: NodeJS.Timeout;
  private restartTimer?: NodeJS.Timeout;

  constructor(
    private readonly name: string,
    kc: k8s.KubeConfig,
    path: string,
    list: () => Promise<k8s.KubernetesListObject<T>>,
    private readonly handler: WatchHandler<T>,
    private readonly relistIntervalMs: number,
  ) {
    this.informer = k8s.makeInformer<T>(kc, path, list);
    for (const ev of ['add', 'update', 'delete'] as const) {
      this.informer.on(ev, (obj: T) => void this.safe(ev, obj));
    }
    this.informer.on('connect', () => {
      this.backoffMs = 1000;
    });
    this.informer.on('error', (err: unknown) => {
      if (this.stopped || this.restarting || (err as Error)?.name === 'AbortError') return;
      // A just-created CRD's watch cache is not ready for a second or so: expected, not a warning.
      const level = /storage is \(re\)initializing/.test(describeApiError(err)) ? 'debug' : 'warn';
      logger[level](
        { informer: this.name, err: describeApiError(err), retryInMs: this.backoffMs },
        'watch failed; restarting',
      );
      this.restartTimer = setTimeout(() => void this.restart(), this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, 30_000);
    });
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
    try {
      this.restarting = true;
      await this.informer.stop();
      this.restarting = false;
      if (this.stopped) return; // stop() was called meanwhile: do not reopen the watch
      await this.informer.start();
    } catch (err) {
      this.restarting = false;
      logger.warn({ informer: this.name, err: String(err) }, 'restart failed');
      this.restartTimer = setTimeout(() => void this.restart(), this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, 30_000);
    }
  }

  async start(): Promise<void> {
    this.relistTimer = setInterval(() => void this.restart(), this.relistIntervalMs);
    try {
      await this.informer.start();
    } catch (err) {
      logger.warn({ informer: this.name, err: String(err) }, 'initial list failed; retrying');
      this.restartTimer = setTimeout(() => void this.restart(), this.backoffMs);
    }
  }

  list(): readonly T[] {
    return this.informer.list();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.relistTimer);
    clearTimeout(this.restartTimer);
    await this.informer.stop();
  }
}
