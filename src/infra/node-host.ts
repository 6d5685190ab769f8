import { spawn } from 'node:child_process';
import {
  existsSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';

/**
 * Host-level pieces of a node (node.ts): running commands, finding and removing what a node leaves
 * on the machine (processes, mounts, iptables chains, the CNI bridge, IPAM state, sysctls).
 * Everything here is best effort and idempotent: it runs after clean stops and after crashes.
 */

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (never throws for a non-zero exit; does for a missing binary). */
export function run(
  cmd: string,
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs a command and throws with its stderr when it fails. */
export async function mustRun(
  cmd: string,
  args: string[],
  opts: Parameters<typeof run>[2] = {},
): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

// ---------------------------------------------------------------------------------------------
// processes

/** Executables of the node's own processes (matched when their command line names the node dir). */
const NODE_EXECUTABLES = new Set([
  'containerd',
  'containerd-shim-runc-v2',
  'kubelet',
  'kube-proxy',
  'kube-controller-manager',
  'kube-scheduler',
  'setpriv',
]);

function isUnder(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

/**
 * Processes a node in `dir` left behind: containers (their root file system lives under `dir`)
 * and the node's daemons and shims (their command line names a path under `dir`). Never this
 * process or its ancestors.
 */
export function leftoverProcesses(dir: string): number[] {
  const protectedPids = new Set<number>();
  for (let pid = process.pid; pid > 1;) {
    protectedPids.add(pid);
    const stat = safeRead(`/proc/${pid}/stat`);
    const ppid = stat ? Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) : NaN;
    if (!Number.isFinite(ppid) || ppid === pid) break;
    pid = ppid;
  }
  const ownMountNs = readlinkSync('/proc/self/ns/mnt');
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (protectedPids.has(pid)) continue;
    try {
      const root = readlinkSync(`/proc/${pid}/root`);
      if (root !== '/' && isUnder(root, dir)) {
        found.push(pid);
        continue;
      }
      // A container pivots into its own mount namespace (its root then reads as "/"): ours if
      // its root file system is an overlay of layers under `dir`.
      if (readlinkSync(`/proc/${pid}/ns/mnt`) !== ownMountNs) {
        const rootMount = (safeRead(`/proc/${pid}/mountinfo`) ?? '')
          .split('\n')
          .find((l) => l.split(' ')[4] === '/');
        if (rootMount?.includes(`${dir}/`)) {
          found.push(pid);
          continue;
        }
      }
      const argv = (safeRead(`/proc/${pid}/cmdline`) ?? '').split('\0');
      if (NODE_EXECUTABLES.has(path.basename(argv[0] ?? '')) && argv.some((a) => a.includes(`${dir}/`)))
        found.push(pid);
    } catch {
      // gone, or a kernel thread
    }
  }
  return found;
}

function safeRead(file: string): string | undefined {
  try {
    return readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** SIGKILLs the node's leftover processes and waits (up to 10 s) until they are gone. */
export async function killLeftoverProcesses(dir: string): Promise<number> {
  let killed = 0;
  for (let round = 0; round < 50; round++) {
    const pids = leftoverProcesses(dir);
    if (pids.length === 0) return killed;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        killed++;
      } catch {
        // already gone
      }
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`processes of the node in ${dir} survive SIGKILL: ${leftoverProcesses(dir).join(' ')}`);
}

// ---------------------------------------------------------------------------------------------
// mounts

export interface MountEntry {
  mountPoint: string;
  fsType: string;
}

/** Decodes the octal escapes (`\040` etc.) of /proc/self/mountinfo fields. */
const unescapeMount = (s: string) =>
  s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** Mounts at or below `dir`, deepest first (the order to unmount them in). */
export function mountsUnder(mountinfo: string, dir: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const sep = fields.indexOf('-');
    if (fields.length < 5 || sep === -1) continue;
    const mountPoint = unescapeMount(fields[4]!);
    if (isUnder(mountPoint, dir)) out.push({ mountPoint, fsType: fields[sep + 1] ?? '' });
  }
  // deepest first; a path mounted several times (stacked) appears once per mount
  return out.sort((a, b) => b.mountPoint.length - a.mountPoint.length);
}

export function currentMountsUnder(dir: string): MountEntry[] {
  return mountsUnder(readFileSync('/proc/self/mountinfo', 'utf8'), dir);
}

/** Unmounts everything at or below `dir` (lazily if a plain unmount fails). */
export async function unmountAll(dir: string): Promise<void> {
  for (let round = 0; round < 10; round++) {
    const mounts = currentMountsUnder(dir);
    if (mounts.length === 0) return;
    for (const m of mounts) {
      const r = await run('umount', [m.mountPoint]);
      if (r.code !== 0) await run('umount', ['-l', m.mountPoint]);
    }
  }
  const left = currentMountsUnder(dir).map((m) => m.mountPoint);
  if (left.length) throw new Error(`could not unmount ${left.join(', ')}`);
}

/** rm -rf that refuses to cross into a mount (which would delete a volume's or the host's data). */
export function removeTree(p: string): void {
  const mounts = currentMountsUnder(p);
  if (mounts.length) throw new Error(`not removing ${p}: ${mounts[0]!.mountPoint} is still mounted`);
  rmSync(p, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// iptables

const TABLES = ['filter', 'nat', 'mangle', 'raw'];

/**
 * An `iptables-restore --noflush` script that removes, from one table's `iptables-save` output,
 * every chain `ownChain` accepts (references from other chains first, then flush, then delete)
 * and every rule `ownRule` accepts. Undefined when there is nothing to remove.
 */
export function iptablesCleanupScript(
  table: string,
  save: string,
  ownChain: (chain: string) => boolean,
  ownRule: (rule: string) => boolean = () => false,
): string | undefined {
  const lines = save.split('\n');
  const allChains = lines.filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0]!);
  const rules = lines.filter((l) => l.startsWith('-A '));
  const chainOf = (rule: string) => rule.split(' ')[1]!;
  const targetOf = (rule: string) => / -[jg] (\S+)/.exec(rule)?.[1];
  const chains = new Set(allChains.filter(ownChain));
  // A chain only our rules jump to and holding only our rules is ours too (the bridge plugin's
  // per-pod masquerade chains CNI-<hash>).
  for (const rule of rules) {
    const target = targetOf(rule);
    if (!ownRule(rule) || !target || chains.has(target) || !allChains.includes(target)) continue;
    const body = rules.filter((r) => chainOf(r) === target);
    const jumpers = rules.filter((r) => targetOf(r) === target);
    if (body.every(ownRule) && jumpers.every(ownRule)) chains.add(target);
  }
  const deletes = rules
    .filter((r) => !chains.has(chainOf(r)))
    .filter((r) => chains.has(targetOf(r) ?? '') || ownRule(r))
    .map((r) => `-D ${r.slice(3)}`);
  if (!chains.size && !deletes.length) return undefined;
  return [
    `*${table}`,
    ...deletes,
    ...[...chains].map((c) => `-F ${c}`),
    ...[...chains].map((c) => `-X ${c}`),
    'COMMIT',
    '',
  ].join('\n');
}

/**
 * Removes chains and rules in every table of iptables and ip6tables. Returns whether anything
 * was there.
 */
export async function removeIptables(
  ownChain: (chain: string) => boolean,
  ownRule?: (rule: string) => boolean,
): Promise<boolean> {
  let found = false;
  for (const family of ['iptables', 'ip6tables']) {
    for (const table of TABLES) {
      const save = await run(`${family}-save`, ['-t', table]).catch(() => undefined);
      if (!save || save.code !== 0) continue;
      const script = iptablesCleanupScript(table, save.stdout, ownChain, ownRule);
      if (!script) continue;
      found = true;
      const r = await run(`${family}-restore`, ['--noflush', '-w', '5'], { input: script });
      if (r.code !== 0)
        throw new Error(`${family}-restore (cleanup of ${table}) failed: ${r.stderr.trim()}\n${script}`);
    }
  }
  return found;
}

/** Whether any iptables/ip6tables table has a chain `ownChain` accepts. */
export async function hasIptablesChains(ownChain: (chain: string) => boolean): Promise<boolean> {
  for (const family of ['iptables', 'ip6tables']) {
    for (const table of TABLES) {
      const save = await run(`${family}-save`, ['-t', table]).catch(() => undefined);
      if (!save || save.code !== 0) continue;
      if (save.stdout.split('\n').some((l) => l.startsWith(':') && ownChain(l.slice(1).split(' ')[0]!)))
        return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// links and sysctls

export async function linkExists(name: string): Promise<boolean> {
  return (await run('ip', ['link', 'show', 'dev', name])).code === 0;
}

export async function deleteLink(name: string): Promise<void> {
  if (await linkExists(name)) await mustRun('ip', ['link', 'delete', 'dev', name]);
}

/** Host kernel settings the node's components change (bridge plugin, kubelet, kube-proxy). */
export const TOUCHED_SYSCTLS = [
  'net/ipv4/ip_forward',
  'net/ipv4/conf/all/route_localnet',
  'vm/overcommit_memory',
  'vm/panic_on_oom',
  'kernel/panic',
  'kernel/panic_on_oops',
  'kernel/keys/root_maxkeys',
  'kernel/keys/root_maxbytes',
];

export function readSysctls(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of TOUCHED_SYSCTLS) {
    const v = safeRead(`/proc/sys/${k}`);
    if (v !== undefined) out[k] = v.trim();
  }
  return out;
}

/** Writes back values read before the node started (only the ones that changed). */
export function restoreSysctls(saved: Record<string, string>): void {
  for (const [k, v] of Object.entries(saved)) {
    const file = `/proc/sys/${k}`;
    if (safeRead(file)?.trim() === v) continue;
    try {
      writeFileSync(file, v);
    } catch {
      // read-only /proc/sys (unprivileged container): nothing we changed either
    }
  }
}

/** Removes `dir` if it exists and is empty. */
export function removeIfEmpty(dir: string): void {
  try {
    if (existsSync(dir) && readdirSync(dir).length === 0) rmdirSync(dir);
  } catch {
    // not ours to worry about
  }
}
