import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The AES-256 keys that encrypt Temporal payloads, read from a directory with one file per key id
 * (a mounted Kubernetes Secret: one data key per key id) plus `active-key-id` naming the key new
 * payloads are encrypted with. A key file holds 32 bytes as base64 (44 characters) or hex (64).
 * A single key file instead of a directory is one key whose id is the file name.
 *
 * Rotation: add the new key everywhere first, then point `active-key-id` at it; old keys stay as
 * long as histories encrypted with them are kept. The key contents never leave this module except
 * to node:crypto.
 */

/** The file of a key directory that names the active key. */
export const ACTIVE_KEY_FILE = 'active-key-id';

/** Secret data keys allow exactly these characters; so do we for key ids. */
const KEY_ID = /^[A-Za-z0-9._-]{1,253}$/;

export class PayloadKeyError extends Error {
  override name = 'PayloadKeyError';
}

export interface PayloadKeys {
  /** The key new payloads are encrypted with. */
  activeKeyId: string;
  /** Every known key by id (the active one included). */
  keys: ReadonlyMap<string, Buffer>;
}

/** Where the keys are and which flag or variable said so, for messages. */
export interface PayloadKeySetting {
  path: string;
  from: string;
}

function parseKey(text: string, file: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  // base64 decoding ignores junk, so the round trip proves the text was base64.
  const isBase64 = key.length === 32 && key.toString('base64').replace(/=+$/, '') === t.replace(/=+$/, '');
  if (key.length !== 32 || (!/^[0-9a-fA-F]{64}$/.test(t) && !isBase64))
    throw new PayloadKeyError(
      `${file} is not a 256-bit key: expected 32 bytes as base64 (44 characters) or hex (64 characters)`,
    );
  return key;
}

/** Reads the keys now; throws a {@link PayloadKeyError} naming the file and setting at fault. */
export function readPayloadKeys(setting: PayloadKeySetting): PayloadKeys {
  const where = `${setting.path} (set by ${setting.from})`;
  let isDir: boolean;
  try {
    isDir = statSync(setting.path).isDirectory();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new PayloadKeyError(
      `cannot read the payload keys ${where}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`,
    );
  }
  const read = (file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new PayloadKeyError(`cannot read payload key file ${file}: ${(err as Error).message}`);
    }
  };
  if (!isDir) {
    const id = path.basename(setting.path);
    if (!KEY_ID.test(id)) throw new PayloadKeyError(`payload key file name ${id} is not a valid key id`);
    return { activeKeyId: id, keys: new Map([[id, parseKey(read(setting.path), setting.path)]]) };
  }
  const keys = new Map<string, Buffer>();
  // A mounted Secret also holds `..data` and `..<timestamp>` entries (its atomic update): skip
  // dot files; key files are symlinks into them, which statSync follows.
  for (const name of readdirSync(setting.path).sort()) {
    if (name.startsWith('.') || name === ACTIVE_KEY_FILE) continue;
    const file = path.join(setting.path, name);
    if (!statSync(file).isFile()) continue;
    if (!KEY_ID.test(name)) throw new PayloadKeyError(`payload key file ${file}: not a valid key id`);
    keys.set(name, parseKey(read(file), file));
  }
  if (keys.size === 0) throw new PayloadKeyError(`no payload key in ${where}: add a file per key id`);
  const activeFile = path.join(setting.path, ACTIVE_KEY_FILE);
  let activeKeyId: string;
  if (existsSync(activeFile)) activeKeyId = read(activeFile).trim();
  else if (keys.size === 1) activeKeyId = [...keys.keys()][0]!;
  else
    throw new PayloadKeyError(
      `${where} holds ${keys.size} keys (${[...keys.keys()].join(', ')}) but no ${ACTIVE_KEY_FILE} file naming the one to encrypt with`,
    );
  if (!keys.has(activeKeyId))
    throw new PayloadKeyError(
      `${activeFile} names key "${activeKeyId}", which is not in ${where} (keys: ${[...keys.keys()].join(', ')})`,
    );
  return { activeKeyId, keys };
}

/** How often a key ring in use looks at its files again (a rotated Secret is picked up). */
const REFRESH_MS = 30_000;
/** An unknown key id makes it look again at once, but not more often than this. */
const UNKNOWN_KEY_REFRESH_MS = 1_000;

/**
 * The keys of one setting, read at creation (a bad setting fails the start) and again every
 * {@link REFRESH_MS} while in use or when a payload names a key not seen yet: a worker that missed
 * a rotation catches up instead of failing. A failed re-read keeps the keys it had.
 */
export class PayloadKeyRing {
  #keys: PayloadKeys;
  #readAt: number;
  readonly setting: PayloadKeySetting;

  constructor(
    setting: PayloadKeySetting,
    private readonly now: () => number = Date.now,
  ) {
    this.setting = setting;
    this.#keys = readPayloadKeys(setting);
    this.#readAt = now();
  }

  #reread(minAgeMs: number): void {
    if (this.now() - this.#readAt < minAgeMs) return;
    this.#readAt = this.now();
    try {
      this.#keys = readPayloadKeys(this.setting);
    } catch {
      // keep the keys read before: a Secret being updated must not stop the worker
    }
  }

  active(): { id: string; key: Buffer } {
    this.#reread(REFRESH_MS);
    return { id: this.#keys.activeKeyId, key: this.#keys.keys.get(this.#keys.activeKeyId)! };
  }

  get(id: string): Buffer {
    let key = this.#keys.keys.get(id);
    if (!key) {
      this.#reread(UNKNOWN_KEY_REFRESH_MS);
      key = this.#keys.keys.get(id);
    }
    if (!key)
      throw new PayloadKeyError(
        `payload encrypted with key "${id}", which is not among the known keys (${[...this.#keys.keys.keys()].join(', ')}) ` +
          `in ${this.setting.path} (set by ${this.setting.from}): add key "${id}" to the key directory`,
      );
    return key;
  }

  ids(): string[] {
    return [...this.#keys.keys.keys()];
  }
}

/**
 * A key directory for `dev --encrypt-payloads`: created with one random key (`dev-key`) when it
 * does not exist, used as is when it does. Returns its path.
 */
export function ensureDevPayloadKeys(dir: string): string {
  if (!existsSync(path.join(dir, ACTIVE_KEY_FILE))) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(path.join(dir, 'dev-key'), randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
    writeFileSync(path.join(dir, ACTIVE_KEY_FILE), 'dev-key\n', { mode: 0o600 });
  }
  return dir;
}
