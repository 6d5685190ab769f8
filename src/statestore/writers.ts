// Picks the writer for a state store from its kind: what activities and the health check use, so
// neither knows whether a Destination's files land in git or in a bucket.
import type { Kube } from '../kube/client.js';
import { BucketWriter } from './bucket.js';
import { GitWriter } from './git.js';
import {
  bucketLocationFor,
  gitRepoFor,
  storeForDestination,
  type BucketStateStoreObject,
  type DestinationObject,
  type GitStateStoreObject,
  type StateStoreKind,
  type StateStoreObject,
} from './stores.js';
import type { StateStoreWriter } from './writer.js';

export interface StateStoreWriterFactory {
  /** The writer of one store, its Secret resolved now (so a fixed Secret is used at once). */
  forStore(kind: StateStoreKind, store: StateStoreObject): Promise<StateStoreWriter>;
  /** The store a Destination points at and its writer; StateStoreError when unusable. */
  forDestination(d: DestinationObject): Promise<{ store: StateStoreObject; writer: StateStoreWriter }>;
}

/**
 * The production factory: one GitWriter (clone cache and group commits shared by every
 * GitStateStore) and one BucketWriter (an S3 client per bucket location).
 */
export class StateStoreWriters implements StateStoreWriterFactory {
  private readonly git: GitWriter;
  private readonly bucket = new BucketWriter();

  constructor(
    private readonly kube: Kube,
    gitCacheDir: string,
  ) {
    this.git = new GitWriter(gitCacheDir);
  }

  async forStore(kind: StateStoreKind, store: StateStoreObject): Promise<StateStoreWriter> {
    if (kind === 'BucketStateStore') {
      const s = store as BucketStateStoreObject;
      return this.bucket.bind(await bucketLocationFor(this.kube, s), s.spec?.path ?? '');
    }
    return this.git.bind(await gitRepoFor(this.kube, store as GitStateStoreObject));
  }

  async forDestination(d: DestinationObject): Promise<{ store: StateStoreObject; writer: StateStoreWriter }> {
    const { kind, store } = await storeForDestination(this.kube, d);
    return { store, writer: await this.forStore(kind, store) };
  }

  close(): void {
    this.bucket.close();
  }
}
