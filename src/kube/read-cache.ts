// The worker's view of the platform objects every run reads (Promises, Destinations, state
// stores), kept current by watches: a run reads them from memory instead of the API server.
// Reads that matter for correctness fall back to the API on a miss (see the callers), so a watch
// a few milliseconds behind costs one extra GET, never a wrong answer about existence.
import type * as k8s from '@kubernetes/client-node';
import { KRATIX_GROUP, KRATIX_VERSION } from '../core/constants.js';
import type { KratixPromise, KubeObject } from '../core/types.js';
import { ResilientInformer } from '../controller/watcher.js';
import type { Kube } from './client.js';

type Obj = KubeObject & k8s.KubernetesObject;

/** Cluster-scoped kratix kinds the worker caches. */
export const CACHED_PLURALS = ['promises', 'destinations', 'gitstatestores', 'bucketstatestores'] as const;
export type CachedPlural = (typeof CACHED_PLURALS)[number];

export class ReadCache {
  private readonly informers = new Map<CachedPlural, ResilientInformer<Obj>>();
  /**
   * Each cached object without metadata.managedFields (no reader needs them; for a Promise they
   * mirror its whole spec and status, about half its size), made once per version of the object:
   * every read copies it, and a run reads its Promise three times.
   */
  private readonly slim = new WeakMap<Obj, Obj>();

  constructor(
    private readonly kube: Kube,
    private readonly relistIntervalMs = 5 * 60_000,
  ) {}

  /** Starts the watches; a kind whose CRD is not installed yet is read from the API until it is. */
  async start(): Promise<void> {
    await Promise.all(
      CACHED_PLURALS.map(async (plural) => {
        const coords = { group: KRATIX_GROUP, version: KRATIX_VERSION, plural };
        const informer = new ResilientInformer<Obj>(
          `cache:${plural}`,
          this.kube.kc,
          `/apis/${KRATIX_GROUP}/${KRATIX_VERSION}/${plural}`,
          () => this.kube.custom.listClusterCustomObject(coords) as Promise<k8s.KubernetesListObject<Obj>>,
          () => undefined,
          this.relistIntervalMs,
        );
        this.informers.set(plural, informer);
        await informer.start();
      }),
    );
  }

  async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
    this.informers.clear();
  }

  /** The cached object (a copy: callers may change it), undefined if absent; 'unknown' before the first list. */
  get<T extends KubeObject>(plural: CachedPlural, name: string): T | undefined | 'unknown' {
    const informer = this.informers.get(plural);
    if (!informer?.hasSynced()) return 'unknown';
    const found = informer.get(name);
    return found ? this.copy<T>(found) : undefined;
  }

  /** Every cached object of the kind (copies), or 'unknown' before the first list. */
  list<T extends KubeObject>(plural: CachedPlural): T[] | 'unknown' {
    const informer = this.informers.get(plural);
    if (!informer?.hasSynced()) return 'unknown';
    return informer.list().map((o) => this.copy<T>(o));
  }

  private copy<T extends KubeObject>(o: Obj): T {
    let slim = this.slim.get(o);
    if (!slim) {
      const { managedFields: _, ...metadata } = o.metadata ?? {};
      slim = { ...o, metadata } as Obj;
      this.slim.set(o, slim);
    }
    return structuredClone(slim) as unknown as T;
  }

  promise(name: string): KratixPromise | undefined | 'unknown' {
    return this.get<KratixPromise>('promises', name);
  }
}
