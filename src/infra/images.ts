import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_VERSION } from '../package-root.js';
import { cacheDir, resolveBinary } from './binaries.js';
import {
  normalizeEntries,
  rootfsFromDir,
  writeOciArchive,
  type OciArchive,
  type OciImageSpec,
  type RootfsEntry,
} from './oci-image.js';

/**
 * The images a node needs without a registry, built locally and cached under
 * `<cacheDir>/images/<name>/<input hash>.tar`: a rebuild happens only when an input changes.
 */

/** The pod sandbox image (containerd's `sandbox_image`): our own static pause program. */
export const PAUSE_IMAGE = 'localhost/kratix-temporal/pause:3.10';
/** busybox (static, with applet links) and the pinned kubectl; user 65532 `nonroot` exists. */
export const TOOLBOX_IMAGE = `localhost/kratix-temporal/toolbox:${PROJECT_VERSION}`;

/** Bumped when the archive format changes, so cached archives are rebuilt. */
const FORMAT = 1;

function hashFile(file: string, h = createHash('sha256')): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/** A hash of everything that goes into an image: run config and every entry, content included. */
export function imageInputHash(spec: OciImageSpec, entries: RootfsEntry[]): string {
  const h = createHash('sha256');
  const { rootfs: _rootfs, ...run } = spec;
  h.update(JSON.stringify({ FORMAT, run }));
  for (const e of entries) {
    const { source, content, ...meta } = e;
    // the mode a file gets in the image: its own unless the entry sets one
    const mode = meta.mode ?? (source !== undefined ? statSync(source).mode & 0o7777 : null);
    h.update(JSON.stringify({ ...meta, mode }));
    if (source !== undefined) h.update(hashFile(source));
    if (content !== undefined) h.update(createHash('sha256').update(content).digest('hex'));
    h.update('\0');
  }
  return h.digest('hex');
}

/** File-system-safe directory name for an image reference. */
const cacheName = (name: string) => name.replace(/[^A-Za-z0-9._-]+/g, '_');

/**
 * Builds a single-layer OCI image archive from a root file system directory (or entry list),
 * reusing the cached archive when nothing changed. Import it with `importImage` (oci-image.ts) or
 * `RunningNode.loadImage`.
 */
export async function buildImage(spec: OciImageSpec): Promise<OciArchive> {
  const entries = normalizeEntries(
    typeof spec.rootfs === 'string' ? rootfsFromDir(spec.rootfs) : spec.rootfs,
  );
  const key = imageInputHash(spec, entries).slice(0, 32);
  const dir = path.join(cacheDir(), 'images', cacheName(spec.name));
  // one build per image and content in this process (a node start and a test setup may ask at once)
  const id = `${dir}/${key}`;
  let build = building.get(id);
  if (!build) {
    build = buildCached(spec, entries, dir, key).finally(() => building.delete(id));
    building.set(id, build);
  }
  return build;
}

const building = new Map<string, Promise<OciArchive>>();

async function buildCached(
  spec: OciImageSpec,
  entries: RootfsEntry[],
  dir: string,
  key: string,
): Promise<OciArchive> {
  const archive = path.join(dir, `${key}.tar`);
  const meta = path.join(dir, `${key}.json`);
  if (existsSync(archive) && existsSync(meta)) {
    try {
      return JSON.parse(await readFile(meta, 'utf8')) as OciArchive;
    } catch {
      // unreadable: rebuild
    }
  }
  mkdirSync(dir, { recursive: true });
  const built = await writeOciArchive({ ...spec, rootfs: entries }, archive);
  // other processes may write the same file: unique temporary name, atomic rename
  const tmp = `${meta}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, JSON.stringify(built));
  await rename(tmp, meta);
  // Older builds of the same image are not needed any more.
  for (const f of readdirSync(dir))
    if (!f.startsWith(key) && !f.includes('.tmp')) await rm(path.join(dir, f), { force: true });
  return built;
}

/** Our pause: PID 1 of the pod sandbox. Reaps children, exits 0 on SIGINT/SIGTERM. */
const PAUSE_C = `/* kratix-temporal pause: holds a pod's namespaces. Signals are blocked and taken with
 * sigwait (as PID 1 of a PID namespace, unhandled default-action signals would be dropped). */
#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>

int main(void) {
  sigset_t set;
  int sig;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &set, NULL);
  for (;;) {
    if (sigwait(&set, &sig) != 0) continue;
    if (sig != SIGCHLD) return 0;
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
  }
}
`;

/** Compiles PAUSE_C statically (once per source version). */
function pauseBinary(): string {
  const hash = createHash('sha256').update(PAUSE_C).digest('hex').slice(0, 16);
  const dir = path.join(cacheDir(), 'images', 'src', `pause-${hash}`);
  const bin = path.join(dir, 'pause');
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const src = path.join(dir, `pause.${process.pid}.c`);
  const tmp = `${bin}.${process.pid}.tmp`;
  writeFileSync(src, PAUSE_C);
  try {
    execFileSync('gcc', ['-Os', '-static', '-s', '-o', tmp, src], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(
      `compiling the pause image's program needs gcc and a static libc ('bash scripts/setup.sh --node' ` +
        `installs gcc and libc6-dev): ${e.stderr?.toString().trim() || e.message}`,
    );
  }
  renameSync(tmp, bin);
  rmSync(src, { force: true });
  return bin;
}

export async function buildPauseImage(): Promise<OciArchive> {
  return buildImage({
    name: PAUSE_IMAGE,
    rootfs: [{ path: 'pause', type: 'file', source: pauseBinary(), mode: 0o755 }],
    entrypoint: ['/pause'],
  });
}

/** True if an ELF executable has no program interpreter (statically linked). */
export function isStaticElf(file: string): boolean {
  const buf = readFileSync(file).subarray(0, 1 << 16);
  if (buf.readUInt32BE(0) !== 0x7f454c46) return false;
  const is64 = buf[4] === 2;
  const le = buf[5] === 1;
  const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const phoff = is64 ? Number(le ? buf.readBigUInt64LE(0x20) : buf.readBigUInt64BE(0x20)) : u32(0x1c);
  const phentsize = u16(is64 ? 0x36 : 0x2a);
  const phnum = u16(is64 ? 0x38 : 0x2c);
  for (let i = 0; i < phnum; i++) {
    const off = phoff + i * phentsize;
    if (off + 4 > buf.length) throw new Error(`${file}: program headers beyond the first 64 KiB`);
    if (u32(off) === 3 /* PT_INTERP */) return false;
  }
  return true;
}

export function staticBusybox(): string {
  for (const candidate of [process.env.KRATIX_TEMPORAL_BUSYBOX, '/usr/bin/busybox', '/bin/busybox']) {
    if (candidate && existsSync(candidate) && isStaticElf(candidate)) return candidate;
  }
  throw new Error(
    "the toolbox image needs a statically linked busybox ('bash scripts/setup.sh --node' installs " +
      'busybox-static; or set KRATIX_TEMPORAL_BUSYBOX)',
  );
}

/** The toolbox root file system: busybox + applet links, kubectl, a root and a nonroot user. */
export function toolboxRootfs(busybox: string, kubectl: string): RootfsEntry[] {
  const applets = execFileSync(busybox, ['--list-full'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && l !== 'bin/busybox');
  return [
    { path: 'bin/busybox', type: 'file', source: busybox, mode: 0o755 },
    ...[...new Set(applets)].map((a): RootfsEntry => ({ path: a, type: 'symlink', target: '/bin/busybox' })),
    { path: 'usr/local/bin/kubectl', type: 'file', source: kubectl, mode: 0o755 },
    {
      path: 'etc/passwd',
      type: 'file',
      content:
        'root:x:0:0:root:/root:/bin/sh\n' +
        'nonroot:x:65532:65532:nonroot:/home/nonroot:/bin/sh\n' +
        'nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
    },
    { path: 'etc/group', type: 'file', content: 'root:x:0:\nnonroot:x:65532:\nnogroup:x:65534:\n' },
    { path: 'root', type: 'dir', mode: 0o700 },
    { path: 'home/nonroot', type: 'dir', mode: 0o755, uid: 65532, gid: 65532 },
    { path: 'tmp', type: 'dir', mode: 0o1777 },
  ];
}

export async function buildToolboxImage(): Promise<OciArchive> {
  return buildImage({
    name: TOOLBOX_IMAGE,
    rootfs: toolboxRootfs(staticBusybox(), resolveBinary('kubectl')),
    cmd: ['/bin/sh'],
  });
}

/** The images every node imports before its kubelet starts. */
export async function nodeImages(): Promise<OciArchive[]> {
  return [await buildPauseImage(), await buildToolboxImage()];
}
