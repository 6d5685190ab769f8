// The one contract every state store (git repository, S3 bucket) fulfils for the activities, as
// upstream Kratix's lib/writers: replace a folder's files, remove a folder, read a file back.
import path from 'node:path';
import type { TreeChange, TreeReader } from '../core/destination-layout.js';

export interface FileToWrite {
  /** Relative to the request's dir. */
  path: string;
  content: string;
}

export interface WriteRequest {
  /** Folder inside the store whose content is replaced (created, or removed when files is empty). */
  dir: string;
  files: FileToWrite[];
  /** Why: the commit message for git, logged for buckets. */
  message: string;
  /**
   * Instead of replacing `dir` with `files`: what to change under `dir`, computed from the files
   * there now (Destination filepath modes `none` and `aggregatedYAML`). Called in queue order, so
   * writers that share files (a Destination's aggregated file, its `.kratix` state files) see each
   * other's changes. `dir` may then be the store's root.
   */
  apply?: (tree: TreeReader) => TreeChange;
}

export interface WriteResult {
  /** Set when something changed: the commit for git, a digest of the changed objects for buckets. */
  version?: string;
}

/**
 * A state store bound to its location and credentials. Writes are idempotent (the same files again
 * change nothing and return no version), and writes to one store are serialised, so a folder's
 * content is always exactly the files of one request.
 */
export interface StateStoreWriter {
  readonly kind: 'GitStateStore' | 'BucketStateStore';
  /** Replaces the content of `req.dir` with `req.files`; an empty list removes the folder. */
  write(req: WriteRequest): Promise<WriteResult>;
  /** A file's content, or undefined when the store has no such file. */
  read(file: string): Promise<string | undefined>;
  /** Throws a StateStoreAccessError when the store cannot be reached, read or written. */
  check(): Promise<void>;
}

/** Why a store could not be used; each kind maps to a condition reason on the store. */
export type AccessErrorKind = 'auth' | 'hostkey' | 'unreachable' | 'rejected' | 'notfound' | 'other';

/** A store that could not be read or written; the message is safe to show (never a credential). */
export class StateStoreAccessError extends Error {
  override name = 'StateStoreAccessError';
  constructor(
    message: string,
    readonly kind: AccessErrorKind,
  ) {
    super(message);
  }
}

/** The Ready condition's reason for each kind of access failure (git and buckets alike). */
export const ACCESS_ERROR_REASONS: Record<AccessErrorKind, string> = {
  auth: 'AuthenticationFailed',
  hostkey: 'HostKeyVerificationFailed',
  unreachable: 'Unreachable',
  notfound: 'NotFound',
  rejected: 'WriteRejected',
  other: 'StateStoreError',
};

/**
 * The normalised folder of a request ("a/b", no leading or trailing slash), refusing anything that
 * would leave the store's root (absolute paths, `..`). Shared by every writer so git and buckets
 * lay files out identically.
 */
export function storePath(p: string): string {
  const norm = path.posix.normalize(`/${p}`).replace(/^\/+|\/+$/g, '');
  if (norm === '' || p.split('/').includes('..')) {
    throw new StateStoreAccessError(`invalid path "${p}"`, 'other');
  }
  return norm;
}

/** A request's folder: the same rules as any path in the store. */
export const storeDir = storePath;

/** The path of a file inside a request's folder, refusing paths that escape it. */
export function storeFile(dir: string, file: string): string {
  const base = storeDir(dir);
  if (file.startsWith('/') || file.split('/').includes('..') || file.trim() === '') {
    throw new StateStoreAccessError(`invalid output file path "${file}"`, 'other');
  }
  const full = path.posix.normalize(`${base}/${file}`);
  if (!full.startsWith(`${base}/`) || full.endsWith('/')) {
    throw new StateStoreAccessError(`invalid output file path "${file}"`, 'other');
  }
  return full;
}

/** What replacing a folder's content means for a key/value store: which keys to put and delete. */
export function planReplace(
  dir: string,
  files: FileToWrite[],
  existing: Map<string, string | undefined>,
  digest: (content: string) => string,
): { put: { key: string; content: string }[]; remove: string[] } {
  const wanted = new Map(files.map((f) => [storeFile(dir, f.path), f.content]));
  const put = [...wanted]
    .filter(([key, content]) => existing.get(key) !== digest(content))
    .map(([key, content]) => ({ key, content }))
    .sort((a, b) => a.key.localeCompare(b.key));
  const remove = [...existing.keys()].filter((k) => !wanted.has(k)).sort();
  return { put, remove };
}

/** Runs tasks one after another per key (writes to one store never interleave). */
export class KeyedSerializer {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(task, task);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}
