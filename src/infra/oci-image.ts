import { execFile } from 'node:child_process';
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { lstatSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * Single-layer OCI image archives written without a registry, a daemon or container tooling, and
 * importing them into containerd (`ctr images import`). The archive is deterministic: the same
 * inputs give the same bytes (sorted entries, mtime 0, owner 0:0 unless an entry says otherwise,
 * no user or group names), so image digests only change when the content does.
 */

/** One file system object of an image's root file system. */
export interface RootfsEntry {
  /** Path inside the image, e.g. `usr/local/bin/kubectl` (a leading `/` is ignored). */
  path: string;
  type: 'file' | 'dir' | 'symlink';
  /** Permission bits; default: the source file's, else 0644 (files) / 0755 (directories). */
  mode?: number;
  uid?: number;
  gid?: number;
  /** file: a host file to copy (exactly one of `source` and `content`). */
  source?: string;
  /** file: the content. */
  content?: string | Buffer;
  /** symlink: where it points. */
  target?: string;
}

/** The image's run configuration (OCI image config `config` fields). */
export interface ImageRunConfig {
  entrypoint?: string[];
  cmd?: string[];
  /** `KEY=value` strings or a map; PATH defaults to the usual Linux PATH when not given. */
  env?: string[] | Record<string, string>;
  workingDir?: string;
  /** `uid`, `uid:gid` or a user name from the image's /etc/passwd. */
  user?: string;
}

export interface OciImageSpec extends ImageRunConfig {
  /** Full image reference, e.g. `localhost/kratix-temporal/toolbox:0.1.0`. */
  name: string;
  /** A directory to copy as the root file system, or its entries. */
  rootfs: string | RootfsEntry[];
}

export interface OciArchive {
  name: string;
  /** Path of the archive (an OCI image layout in a tar). */
  archive: string;
  /** The image manifest's digest (what containerd reports for the image). */
  manifestDigest: string;
  /** The layer's digest (= its diff ID: the layer is not compressed). */
  layerDigest: string;
}

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const EPOCH = '1970-01-01T00:00:00Z';
const BLOCK = 512;

/** The entries of a directory tree, owned by 0:0, in no particular order (see `normalizeEntries`). */
export function rootfsFromDir(dir: string): RootfsEntry[] {
  const out: RootfsEntry[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(dir, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      const abs = path.join(dir, r);
      const st = lstatSync(abs);
      const mode = st.mode & 0o7777;
      if (st.isSymbolicLink()) out.push({ path: r, type: 'symlink', target: readlinkSync(abs) });
      else if (st.isDirectory()) {
        out.push({ path: r, type: 'dir', mode });
        walk(r);
      } else if (st.isFile()) out.push({ path: r, type: 'file', mode, source: abs });
      else throw new Error(`${abs}: only files, directories and symlinks can go into an image`);
    }
  };
  walk('');
  return out;
}

/** Byte-wise comparison (not locale order): stable across machines. */
const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * Cleans paths, adds missing parent directories (0755, 0:0), rejects duplicates and sorts by path,
 * so a parent always precedes its children.
 */
export function normalizeEntries(entries: RootfsEntry[]): RootfsEntry[] {
  const byPath = new Map<string, RootfsEntry>();
  for (const e of entries) {
    const p = path.posix.normalize(e.path.replace(/^\/+/, '')).replace(/\/+$/, '');
    if (!p || p === '.' || p.startsWith('..')) throw new Error(`invalid image path: ${e.path}`);
    if (byPath.has(p)) throw new Error(`duplicate image path: ${p}`);
    if (e.type === 'file' && (e.source === undefined) === (e.content === undefined))
      throw new Error(`${p}: a file needs exactly one of source and content`);
    if (e.type === 'symlink' && !e.target) throw new Error(`${p}: a symlink needs a target`);
    byPath.set(p, { ...e, path: p });
  }
  for (const p of [...byPath.keys()]) {
    for (let d = path.posix.dirname(p); d !== '.'; d = path.posix.dirname(d)) {
      const parent = byPath.get(d);
      if (parent && parent.type !== 'dir') throw new Error(`${p}: parent ${d} is not a directory`);
      if (!parent) byPath.set(d, { path: d, type: 'dir' });
    }
  }
  return [...byPath.values()].sort((a, b) => byBytes(a.path, b.path));
}

export interface TarHeaderFields {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'pax';
  mode: number;
  uid?: number;
  gid?: number;
  size?: number;
  linkTarget?: string;
}

function octal(buf: Buffer, offset: number, width: number, value: number): void {
  const digits = value.toString(8);
  if (digits.length > width - 1) throw new Error(`tar field overflow: ${value}`);
  buf.write(digits.padStart(width - 1, '0'), offset, 'ascii');
  // the last byte stays NUL
}

/** Splits a path into ustar prefix (≤155 bytes) and name (≤100 bytes), if it can be. */
function ustarSplit(p: string): { prefix: string; name: string } | undefined {
  if (Buffer.byteLength(p) <= 100) return { prefix: '', name: p };
  for (let i = p.indexOf('/'); i !== -1; i = p.indexOf('/', i + 1)) {
    const prefix = p.slice(0, i);
    const name = p.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name) return { prefix, name };
  }
  return undefined;
}

/** A PAX extended header record: `<length> <key>=<value>\n`, the length counting itself. */
export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLen = Buffer.byteLength(body);
  let len = bodyLen + 1;
  while (bodyLen + String(len).length !== len) len = bodyLen + String(len).length;
  return `${len}${body}`;
}

/**
 * The 512-byte POSIX ustar header block(s) for one entry: a PAX extended header first when the
 * path or link target does not fit the ustar fields. mtime is 0 and user/group names are empty.
 */
export function tarHeader(h: TarHeaderFields): Buffer {
  const name = h.type === 'dir' ? `${h.path}/` : h.path;
  const split = ustarSplit(name);
  const linkTooLong = h.linkTarget !== undefined && Buffer.byteLength(h.linkTarget) > 100;
  if (h.type !== 'pax' && (!split || linkTooLong)) {
    let records = '';
    if (!split) records += paxRecord('path', name);
    if (linkTooLong) records += paxRecord('linkpath', h.linkTarget!);
    const data = Buffer.from(records);
    const paxName = `PaxHeaders/${path.posix.basename(h.path)}`.slice(0, 100);
    const pax = tarHeader({ path: paxName, type: 'pax', mode: 0o644, size: data.length });
    const main = tarHeader({
      ...h,
      path: split ? h.path : h.path.slice(0, 99),
      linkTarget: linkTooLong ? h.linkTarget!.slice(0, 100) : h.linkTarget,
    });
    return Buffer.concat([pax, padded(data), main]);
  }
  const { prefix, name: shortName } = split ?? { prefix: '', name: name.slice(0, 100) };
  const buf = Buffer.alloc(BLOCK);
  buf.write(shortName, 0, 100, 'utf8');
  octal(buf, 100, 8, h.mode & 0o7777);
  octal(buf, 108, 8, h.uid ?? 0);
  octal(buf, 116, 8, h.gid ?? 0);
  octal(buf, 124, 12, h.size ?? 0);
  octal(buf, 136, 12, 0); // mtime
  buf.write(' '.repeat(8), 148, 'ascii'); // checksum placeholder
  buf.write({ file: '0', symlink: '2', dir: '5', pax: 'x' }[h.type], 156, 'ascii');
  if (h.linkTarget !== undefined) buf.write(h.linkTarget, 157, 100, 'utf8');
  buf.write('ustar\u000000', 257, 'binary');
  octal(buf, 329, 8, 0); // devmajor
  octal(buf, 337, 8, 0); // devminor
  buf.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of buf) sum += b;
  buf.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 'ascii');
  return buf;
}

function padded(data: Buffer): Buffer {
  const rest = data.length % BLOCK;
  return rest ? Buffer.concat([data, Buffer.alloc(BLOCK - rest)]) : data;
}

/** Writes a tar stream to a file, hashing and counting what it writes. */
class TarWriter {
  private readonly hash: Hash = createHash('sha256');
  size = 0;

  constructor(private readonly fh: FileHandle) {}

  async write(buf: Buffer): Promise<void> {
    if (!buf.length) return;
    await this.fh.write(buf);
    this.hash.update(buf);
    this.size += buf.length;
  }

  async addBuffer(p: string, data: Buffer, mode = 0o644): Promise<void> {
    await this.write(tarHeader({ path: p, type: 'file', mode, size: data.length }));
    await this.write(padded(data));
  }

  async addDir(p: string, mode = 0o755): Promise<void> {
    await this.write(tarHeader({ path: p, type: 'dir', mode }));
  }

  /** Copies a host file in 1 MiB chunks; fails if it changes size meanwhile. */
  async addFile(p: string, source: string, mode: number, uid?: number, gid?: number): Promise<void> {
    const src = await open(source, 'r');
    try {
      const { size } = await src.stat();
      await this.write(tarHeader({ path: p, type: 'file', mode, uid, gid, size }));
      const chunk = Buffer.alloc(1 << 20);
      let done = 0;
      while (done < size) {
        const { bytesRead } = await src.read(chunk, 0, Math.min(chunk.length, size - done), done);
        if (bytesRead === 0) throw new Error(`${source} shrank while being archived`);
        await this.write(chunk.subarray(0, bytesRead));
        done += bytesRead;
      }
      const rest = size % BLOCK;
      if (rest) await this.write(Buffer.alloc(BLOCK - rest));
    } finally {
      await src.close();
    }
  }

  /** The end-of-archive marker; returns the sha256 of everything written. */
  async finish(): Promise<string> {
    await this.write(Buffer.alloc(2 * BLOCK));
    return this.hash.digest('hex');
  }
}

async function writeEntry(tar: TarWriter, e: RootfsEntry): Promise<void> {
  const { uid, gid } = e;
  if (e.type === 'dir') {
    await tar.write(tarHeader({ path: e.path, type: 'dir', mode: e.mode ?? 0o755, uid, gid }));
  } else if (e.type === 'symlink') {
    await tar.write(
      tarHeader({ path: e.path, type: 'symlink', mode: 0o777, uid, gid, linkTarget: e.target }),
    );
  } else if (e.source !== undefined) {
    await tar.addFile(e.path, e.source, e.mode ?? statSync(e.source).mode & 0o7777, uid, gid);
  } else {
    const data = Buffer.from(e.content!);
    await tar.write(
      tarHeader({ path: e.path, type: 'file', mode: e.mode ?? 0o644, uid, gid, size: data.length }),
    );
    await tar.write(padded(data));
  }
}

/** Docker/OCI architecture name of this machine. */
export function ociArchitecture(arch: string = process.arch): string {
  return (
    ({ x64: 'amd64', ia32: '386', arm: 'arm', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x' } as const)[
      arch as 'x64'
    ] ?? arch
  );
}

/** The OCI image config document for one layer (deterministic key order). */
export function imageConfig(
  run: ImageRunConfig,
  layerDigest: string,
  architecture = ociArchitecture(),
): object {
  const env = Array.isArray(run.env) ? run.env : Object.entries(run.env ?? {}).map(([k, v]) => `${k}=${v}`);
  if (!env.some((e) => e.startsWith('PATH='))) env.unshift(DEFAULT_PATH);
  return {
    architecture,
    os: 'linux',
    created: EPOCH,
    config: {
      ...(run.user !== undefined ? { User: run.user } : {}),
      Env: env,
      ...(run.entrypoint ? { Entrypoint: run.entrypoint } : {}),
      ...(run.cmd ? { Cmd: run.cmd } : {}),
      WorkingDir: run.workingDir ?? '/',
    },
    rootfs: { type: 'layers', diff_ids: [layerDigest] },
    history: [{ created: EPOCH, created_by: 'kratix-temporal oci-image' }],
  };
}

/** The tag part of a reference (`latest` when it has none). */
export function referenceTag(name: string): string {
  const last = name.slice(name.lastIndexOf('/') + 1);
  const at = last.indexOf('@');
  const base = at === -1 ? last : last.slice(0, at);
  const colon = base.lastIndexOf(':');
  return colon === -1 ? 'latest' : base.slice(colon + 1);
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/**
 * Writes `spec` as a single-layer OCI image layout in a tar at `out` (via a temporary file next to
 * it, renamed at the end). The layer is an uncompressed tar of the root file system.
 */
export async function writeOciArchive(spec: OciImageSpec, out: string): Promise<OciArchive> {
  const entries = normalizeEntries(
    typeof spec.rootfs === 'string' ? rootfsFromDir(spec.rootfs) : spec.rootfs,
  );
  // Unique temporary names: two processes may build the same image at once (same bytes).
  const unique = `${process.pid}.${randomBytes(4).toString('hex')}`;
  const layerFile = `${out}.${unique}.layer.tmp`;
  const tmpOut = `${out}.${unique}.tmp`;
  try {
    const lf = await open(layerFile, 'w');
    let layerDigest: string;
    let layerSize: number;
    try {
      const layer = new TarWriter(lf);
      for (const e of entries) await writeEntry(layer, e);
      layerDigest = `sha256:${await layer.finish()}`;
      layerSize = layer.size;
    } finally {
      await lf.close();
    }
    const configBytes = Buffer.from(JSON.stringify(imageConfig(spec, layerDigest)));
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: sha256(configBytes),
        size: configBytes.length,
      },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layerSize }],
    };
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    const manifestDigest = sha256(manifestBytes);
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: manifestDigest,
          size: manifestBytes.length,
          platform: { architecture: ociArchitecture(), os: 'linux' },
          annotations: {
            'io.containerd.image.name': spec.name,
            'org.opencontainers.image.ref.name': referenceTag(spec.name),
          },
        },
      ],
    };
    const blob = (d: string) => `blobs/sha256/${d.slice('sha256:'.length)}`;
    const fh = await open(tmpOut, 'w');
    try {
      const tar = new TarWriter(fh);
      await tar.addBuffer('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
      await tar.addBuffer('index.json', Buffer.from(JSON.stringify(index)));
      await tar.addDir('blobs');
      await tar.addDir('blobs/sha256');
      await tar.addBuffer(blob(manifest.config.digest), configBytes);
      await tar.addBuffer(blob(manifestDigest), manifestBytes);
      await tar.addFile(blob(layerDigest), layerFile, 0o644);
      await tar.finish();
    } finally {
      await fh.close();
    }
    await rename(tmpOut, out);
    return { name: spec.name, archive: out, manifestDigest, layerDigest };
  } finally {
    await rm(layerFile, { force: true });
    await rm(tmpOut, { force: true });
  }
}

const execFileAsync = promisify(execFile);

/** `ctr` against one containerd socket, in the namespace the CRI (kubelet) uses. */
export async function ctr(socket: string, args: string[], timeoutMs = 120_000): Promise<string> {
  const base = ['--address', socket, '--namespace', 'k8s.io', '--connect-timeout', '3s'];
  const { stdout } = await execFileAsync('ctr', [...base, ...args], {
    timeout: timeoutMs,
    maxBuffer: 64 << 20,
  });
  return stdout;
}

/**
 * Imports an image archive (OCI layout or `docker save` tar) into containerd's `k8s.io` namespace
 * and unpacks it, so pods can use it with `imagePullPolicy: IfNotPresent` or `Never`.
 */
export async function importImage(socket: string, archive: string): Promise<void> {
  try {
    await ctr(socket, ['images', 'import', '--snapshotter', 'overlayfs', archive]);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`importing ${archive} into containerd (${socket}): ${e.stderr?.trim() || e.message}`);
  }
}

/** Digests of the images containerd's `k8s.io` namespace holds, by name. */
export async function listImages(socket: string): Promise<Map<string, string>> {
  const out = await ctr(socket, ['images', 'ls']);
  const images = new Map<string, string>();
  for (const line of out.split('\n').slice(1)) {
    const [name, , digest] = line.trim().split(/\s+/);
    if (name && digest?.startsWith('sha256:')) images.set(name, digest);
  }
  return images;
}
