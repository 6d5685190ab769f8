// The kratix-temporal image without Docker: the same contents as the Dockerfile's (controller,
// worker and pipeline helper in one image), built as a single-layer OCI archive from this machine's
// Node, a production `npm install` and the compiled project. `npx tsx scripts/build-image.ts`.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../package-root.js';
import { bundleHelper, libraryEntries, nodeRuntime } from '../pipeline-helper/image.js';
import { PROJECT_VERSION } from '../package-root.js';
import { writeWorkflowBundle } from '../worker.js';
import { cacheDir } from './binaries.js';
import { buildImage, staticBusybox } from './images.js';
import { rootfsFromDir, type OciArchive, type RootfsEntry } from './oci-image.js';

const run = promisify(execFile);

/** Controller, worker and pipeline helper in one image (the Deployments and the helper containers). */
export const APP_IMAGE = `localhost/kratix-temporal/kratix-temporal:${PROJECT_VERSION}`;
/** Where the image keeps the project (package.json, dist/, node_modules/, deploy/). */
export const APP_DIR = 'app';
/** The prebuilt workflow bundle in the image (`worker --workflow-bundle`). */
export const APP_WORKFLOW_BUNDLE = `/${APP_DIR}/dist/workflow-bundle.js`;

/** A file is ELF if it starts with the ELF magic number. */
function isElf(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(4);
    return readSync(fd, buf, 0, 4, 0) === 4 && buf.readUInt32BE(0) === 0x7f454c46;
  } finally {
    closeSync(fd);
  }
}

/** The production dependencies (`npm install --omit=dev` of package.json + package-lock.json), cached by their hash. */
async function productionModules(log: (m: string) => void): Promise<string> {
  const inputs = ['package.json', 'package-lock.json'].map((f) => readFileSync(path.join(PACKAGE_ROOT, f)));
  const h = createHash('sha256');
  for (const b of inputs) h.update(b).update('\0');
  const dir = path.join(cacheDir(), 'images', 'src', `prod-modules-${h.digest('hex').slice(0, 16)}`);
  if (existsSync(path.join(dir, 'node_modules'))) return path.join(dir, 'node_modules');
  log('installing production dependencies (npm install --omit=dev)');
  const tmp = `${dir}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (const f of ['package.json', 'package-lock.json'])
    await run('cp', [path.join(PACKAGE_ROOT, f), path.join(tmp, f)]);
  // No install scripts: none of the production dependencies needs one (core-bridge ships its
  // native module prebuilt) and none should run at image build time.
  await run('npm', ['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: tmp,
    maxBuffer: 16 << 20,
  });
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return path.join(dir, 'node_modules');
}

/** The Rust target triple of @temporalio/core-bridge's native module for this machine. */
function coreBridgeTarget(): string {
  const arch = { x64: 'x86_64', arm64: 'aarch64' }[process.arch as string];
  if (!arch || process.platform !== 'linux')
    throw new Error(`no core-bridge build for ${process.platform}/${process.arch}`);
  return `${arch}-unknown-linux-gnu`;
}

/**
 * node_modules without what the image never uses: core-bridge's native modules for other platforms
 * and its Rust sources (together ~120 MB).
 */
function moduleEntries(modules: string): RootfsEntry[] {
  const bridge = '@temporalio/core-bridge/';
  const keep = `${bridge}releases/${coreBridgeTarget()}`;
  const entries = rootfsFromDir(modules).filter((e) => {
    if (!e.path.startsWith(bridge)) return true;
    if (e.path.startsWith(`${bridge}sdk-core`)) return false;
    if (e.path.startsWith(`${bridge}releases/`)) return e.path.startsWith(keep);
    return true;
  });
  if (!entries.some((e) => e.path === `${keep}/index.node`))
    throw new Error(`${modules}/${keep}/index.node missing: the worker cannot load Temporal's core`);
  // native modules (the Temporal core) need their shared libraries, e.g. librt and libgcc_s
  const native = entries.filter((e) => e.type === 'file' && e.path.endsWith('.node')).map((e) => e.source!);
  return [
    ...entries.map((e) => ({ ...e, path: `${APP_DIR}/node_modules/${e.path}` })),
    ...libraryEntries(native),
  ];
}

/** git (with its helpers, for GitStateStores over file://, https:// and ssh://), ssh and a shell for GIT_SSH_COMMAND. */
function gitRuntime(): RootfsEntry[] {
  const core = '/usr/lib/git-core';
  if (!existsSync(`${core}/git`)) throw new Error('the image needs git (apt-get install git)');
  const entries: RootfsEntry[] = [];
  const elves: string[] = [];
  for (const name of readdirSync(core)) {
    const abs = path.join(core, name);
    const st = lstatSync(abs);
    if (st.isSymbolicLink()) {
      const target = realpathSync(abs);
      // links to git itself (the builtins); other links (e.g. to perl scripts) are left out
      if (target === realpathSync(`${core}/git`)) entries.push({ path: abs, type: 'symlink', target: 'git' });
    } else if (st.isFile() && isElf(abs)) {
      entries.push({ path: abs, type: 'file', source: abs, mode: 0o755 });
      elves.push(abs);
    }
  }
  entries.push({ path: 'usr/bin/git', type: 'symlink', target: '../lib/git-core/git' });
  if (existsSync('/usr/bin/ssh')) {
    entries.push({ path: 'usr/bin/ssh', type: 'file', source: realpathSync('/usr/bin/ssh'), mode: 0o755 });
    elves.push('/usr/bin/ssh');
  }
  const busybox = staticBusybox();
  entries.push({ path: 'bin/busybox', type: 'file', source: busybox, mode: 0o755 });
  entries.push({ path: 'bin/sh', type: 'symlink', target: 'busybox' });
  return [...entries, ...libraryEntries(elves)];
}

/** TLS roots for git over https and Temporal Cloud (the Rust core reads the system's store). */
function caCertificates(): RootfsEntry[] {
  const bundle = '/etc/ssl/certs/ca-certificates.crt';
  if (!existsSync(bundle)) throw new Error(`${bundle} missing (apt-get install ca-certificates)`);
  return [{ path: bundle, type: 'file', source: bundle, mode: 0o644 }];
}

/** The same shared library reached from two executables is one entry. */
function dedupe(entries: RootfsEntry[]): RootfsEntry[] {
  const seen = new Map<string, RootfsEntry>();
  for (const e of entries) {
    const p = e.path.replace(/^\/+/, '');
    const prev = seen.get(p);
    if (!prev) seen.set(p, e);
    else if (prev.source === undefined || prev.source !== e.source)
      throw new Error(`duplicate image path: ${p}`);
  }
  return [...seen.values()];
}

export interface AppImageBuild extends OciArchive {
  /** Size of the archive in bytes (the layer is not compressed). */
  bytes: number;
}

/**
 * Builds APP_IMAGE: Node and its libraries, /app with package.json, dist/ (tsc of src, workflows,
 * activities), production node_modules, deploy/, the workflow bundle and the pipeline helper at
 * /app/pipeline-helper.mjs; git, ssh and CA certificates for the state stores; user 65532.
 */
export async function buildAppImage(
  opts: { name?: string; log?: (m: string) => void } = {},
): Promise<AppImageBuild> {
  const log = opts.log ?? (() => {});
  const work = await mkdtemp(path.join(tmpdir(), 'kratix-app-image-'));
  try {
    log('compiling (tsc -p tsconfig.build.json), bundling workflows and the pipeline helper');
    const dist = path.join(work, 'dist');
    const [modules, , helper] = await Promise.all([
      productionModules(log),
      run(path.join(PACKAGE_ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json', '--outDir', dist], {
        cwd: PACKAGE_ROOT,
      }).catch((err: { stdout?: string; message: string }) => {
        throw new Error(`tsc failed: ${err.stdout?.trim() || err.message}`);
      }),
      bundleHelper(),
    ]);
    await writeWorkflowBundle(path.join(dist, 'workflow-bundle.js'));
    const under = (dir: string, entries: RootfsEntry[]) =>
      entries.map((e) => ({ ...e, path: `${APP_DIR}/${dir}/${e.path}` }));
    const pkg = path.join(PACKAGE_ROOT, 'package.json');
    log('writing the image archive');
    const archive = await buildImage({
      name: opts.name ?? APP_IMAGE,
      rootfs: dedupe([
        ...nodeRuntime(),
        ...gitRuntime(),
        ...caCertificates(),
        { path: `${APP_DIR}/package.json`, type: 'file', source: pkg, mode: 0o644 },
        ...under('dist', rootfsFromDir(dist)),
        ...under('deploy', rootfsFromDir(path.join(PACKAGE_ROOT, 'deploy'))),
        ...moduleEntries(modules),
        { path: `${APP_DIR}/pipeline-helper.mjs`, type: 'file', content: helper, mode: 0o644 },
        {
          path: 'etc/passwd',
          type: 'file',
          content:
            'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n',
        },
        { path: 'etc/group', type: 'file', content: 'root:x:0:\nnonroot:x:65532:\n' },
        { path: 'home/nonroot', type: 'dir', mode: 0o755, uid: 65532, gid: 65532 },
        { path: 'tmp', type: 'dir', mode: 0o1777 },
      ]),
      entrypoint: ['/usr/local/bin/node', `/${APP_DIR}/dist/src/cli/main.js`],
      env: { HOME: '/home/nonroot', NODE_ENV: 'production' },
      workingDir: `/${APP_DIR}`,
      user: '65532:65532',
    });
    return { ...archive, bytes: statSync(archive.archive).size };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
