// When each Resource reached PipelineCompleted=True, seen through a watch (not polling, which
// would add up to a poll interval to every latency).
import * as k8s from '@kubernetes/client-node';
import type { Condition, KubeObject } from '../../src/core/types.js';

export class CompletionWatch {
  readonly done = new Map<string, number>();
  private waiters: { names: Set<string>; resolve: () => void }[] = [];
  private req?: { abort(): void };

  constructor(
    private readonly kc: k8s.KubeConfig,
    private readonly path: string,
  ) {}

  async start(): Promise<void> {
    const watch = new k8s.Watch(this.kc);
    const restart = () => {
      // A watch the server closes (timeout) is opened again; completions are never lost because
      // the status stays True.
      setTimeout(() => void this.start().catch(() => setTimeout(restart, 500)), 100);
    };
    this.req = await watch.watch(
      this.path,
      {},
      (_type: string, obj: KubeObject) => {
        const name = obj.metadata.name;
        if (this.done.has(name)) return;
        const c = (obj.status?.conditions as Condition[] | undefined)?.find(
          (x) => x.type === 'PipelineCompleted',
        );
        if (c?.status !== 'True') return;
        this.done.set(name, Date.now());
        this.waiters = this.waiters.filter((w) => {
          w.names.delete(name);
          if (w.names.size > 0) return true;
          w.resolve();
          return false;
        });
      },
      (err: unknown) => {
        if (this.req && err !== undefined) restart();
        else if (this.req) restart();
      },
    );
  }

  /** Resolves once all `names` completed (or rejects after `timeoutMs`). */
  waitFor(names: string[], timeoutMs: number): Promise<void> {
    const pending = new Set(names.filter((n) => !this.done.has(n)));
    if (pending.size === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${pending.size}/${names.length} not completed in ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({
        names: pending,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  stop(): void {
    const r = this.req;
    this.req = undefined;
    r?.abort();
  }
}
