import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { context, trace, type Context } from '@opentelemetry/api';
import type { TreeChange, TreeReader } from '../core/destination-layout.js';
import { parseDuration } from '../core/duration.js';
import { logger } from '../logger.js';
import { metrics } from '../metrics.js';
import { spawner } from '../spawner/spawner.js';
import { withSpan } from '../tracing.js';
import { GroupCommit, type GroupCommitOptions } from './group-commit.js';
import {
  KeyedSerializer,
  StateStoreAccessError,
  storeDir,
  storePath,
  storeFile,
  type StateStoreWriter,
  type WriteRequest,
} from './writer.js';

export type { FileToWrite, WriteRequest } from './writer.js';

/** Credentials from a GitStateStore's Secret. Kept in memory and in git's environment only. */
export interface GitCredentials {
  username?: string;
  password?: string;
  sshPrivateKey?: string;
  knownHosts?: string;
}

/** Who commits (GitStateStore spec.gitAuthor); committer and author alike. */
export interface GitAuthor {
  name: string;
  email: string;
}

export const DEFAULT_GIT_AUTHOR: GitAuthor = { name: 'kratix-temporal', email: 'kratix-temporal@localhost' };

export interface GitRepo {
  url: string;
  branch: string;
  credentials?: GitCredentials;
  author?: GitAuthor;
}

type GitErrorKind = 'auth' | 'hostkey' | 'unreachable' | 'rejected' | 'other';

/** A git failure with a message safe to show (credentials never appear in git's output here). */
export class GitError extends StateStoreAccessError {
  override name = 'GitError';
  constructor(
    message: string,
    override readonly kind: GitErrorKind,
    /** What the command printed on stdout (never credentials: they are not in git's output). */
    readonly stdout = '',
  ) {
    super(message, kind);
  }
}

interface Pending {
  repo: GitRepo;
  req: WriteRequest;
  /** The writer's trace context: a batch's span is a child of the first and links the others. */
  ctx: Context;
}

/**
 * Under load, how long a write waits for others to share its push (group-commit.ts), unless
 * KRATIX_STATE_STORE_GROUP_WAIT says otherwise. 2 s rather than 1 s: in a 1,000-object burst git
 * pushes per run 0.06 → 0.035 and the whole machine's CPU −6 % (README, Benchmarks); a burst's
 * writes wait tens of seconds for CPU anyway, and a lone write never waits.
 */
export const DEFAULT_GROUP_WAIT_MS = 2000;

/**
 * Most writes folded into one commit (bounds commit message size and the blast radius of a bad
 * file), and the wait under load: KRATIX_STATE_STORE_GROUP_WAIT (a duration; 0s: never wait).
 */
export function groupCommitOptions(): GroupCommitOptions {
  const text = process.env.KRATIX_STATE_STORE_GROUP_WAIT?.trim();
  const wait = text === '0' ? 0 : parseDuration(text);
  if (text && wait === undefined)
    logger.warn(
      { value: text },
      `KRATIX_STATE_STORE_GROUP_WAIT is not a duration (e.g. 500ms, 2s); using ${DEFAULT_GROUP_WAIT_MS / 1000}s`,
    );
  return { maxBatch: 50, lingerMs: wait ?? DEFAULT_GROUP_WAIT_MS };
}

const KINDS: [GitErrorKind, RegExp][] = [
  // In order of preference: the first pattern that matches any line names the cause.
  ['hostkey', /Host key verification failed/i],
  ['hostkey', /REMOTE HOST IDENTIFICATION HAS CHANGED|No \S+ host key is known/i],
  ['auth', /Authentication failed|could not read Username|403|401|Permission denied \(publickey/i],
  ['rejected', /\[rejected\]|non-fast-forward|fetch first|failed to push some refs/i],
  [
    'unreachable',
    /Could not resolve host|Connection refused|does not appear to be a git repository|not found|Failed to connect|unable to access/i,
  ],
];

/** The kind of a git failure and the message to show: the line that tells the cause, else the last lines. */
export function classifyGitFailure(stderr: string): { kind: GitErrorKind; detail: string } {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  for (const [kind, re] of KINDS) {
    const line = lines.find((l) => re.test(l));
    if (line) return { kind, detail: line };
  }
  return { kind: 'other', detail: lines.slice(-3).join(' | ') };
}

/**
 * Writes files to git repositories with the `git` CLI: a clone cache per repository, fetch + hard
 * reset before each write, commit only on change, push retried on non-fast-forward.
 */
export class GitWriter {
  constructor(private readonly cacheDir: string) {}

  private clonePath(repo: GitRepo): string {
    const id = createHash('sha256').update(`${repo.url}#${repo.branch}`).digest('hex').slice(0, 16);
    return path.join(this.cacheDir, id);
  }

  /** git with credentials supplied through GIT_ASKPASS / GIT_SSH_COMMAND, never the URL or argv. */
  private async git(repo: GitRepo, cwd: string | undefined, args: string[]): Promise<string> {
    const c = repo.credentials;
    const needsSecrets =
      c?.username !== undefined || c?.password !== undefined || c?.sshPrivateKey !== undefined;
    // Credentials go to a private directory that lives only as long as the command; without any,
    // an empty HOME shared by all commands keeps the user's git config out.
    const secretsDir = needsSecrets ? mkdtempSync(path.join(tmpdir(), 'kratix-git-')) : this.emptyHome();
    try {
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: secretsDir,
        GIT_TERMINAL_PROMPT: '0',
        GIT_CONFIG_NOSYSTEM: '1',
        // Never let a broken clone make git find an enclosing repository (e.g. the checkout the
        // work dir lives in) and reset or clean that instead.
        ...(cwd ? { GIT_CEILING_DIRECTORIES: path.dirname(cwd) } : {}),
        GIT_AUTHOR_NAME: (repo.author ?? DEFAULT_GIT_AUTHOR).name,
        GIT_AUTHOR_EMAIL: (repo.author ?? DEFAULT_GIT_AUTHOR).email,
        GIT_COMMITTER_NAME: (repo.author ?? DEFAULT_GIT_AUTHOR).name,
        GIT_COMMITTER_EMAIL: (repo.author ?? DEFAULT_GIT_AUTHOR).email,
      };
      if (c?.username !== undefined || c?.password !== undefined) {
        const askpass = path.join(secretsDir, 'askpass.sh');
        writeFileSync(
          askpass,
          '#!/bin/sh\ncase "$1" in Username*) printf %s "$KRATIX_GIT_USERNAME";; *) printf %s "$KRATIX_GIT_PASSWORD";; esac\n',
        );
        chmodSync(askpass, 0o700);
        env.GIT_ASKPASS = askpass;
        env.KRATIX_GIT_USERNAME = c.username ?? '';
        env.KRATIX_GIT_PASSWORD = c.password ?? '';
      }
      if (c?.sshPrivateKey) {
        const key = path.join(secretsDir, 'id');
        writeFileSync(key, c.sshPrivateKey.endsWith('\n') ? c.sshPrivateKey : `${c.sshPrivateKey}\n`, {
          mode: 0o600,
        });
        const known = path.join(secretsDir, 'known_hosts');
        writeFileSync(known, c.knownHosts ?? '');
        // Strict host key checking always (gitRepoFor insists on knownHosts); BatchMode: never prompt.
        env.GIT_SSH_COMMAND = `ssh -F /dev/null -i ${key} -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=${known} -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes`;
      }
      let r;
      try {
        r = await spawner.run({ file: 'git', args, cwd, env, timeoutMs: 120_000 });
      } catch (err) {
        const { kind, detail } = classifyGitFailure((err as Error).message);
        throw new GitError(`git ${args[0]} failed: ${detail}`, kind);
      }
      if (r.code === 0) return r.stdout;
      const why = r.timedOut ? 'timed out after 120 s' : r.stderr || `exit code ${r.code ?? r.signal}`;
      const { kind, detail } = classifyGitFailure(why);
      throw new GitError(`git ${args[0]} failed: ${detail}`, kind, r.stdout);
    } finally {
      if (needsSecrets) rmSync(secretsDir, { recursive: true, force: true });
    }
  }

  private home?: string;

  private emptyHome(): string {
    if (!this.home) {
      this.home = `${this.cacheDir}.home`;
      mkdirSync(this.home, { recursive: true });
    }
    return this.home;
  }

  /** Checks that the repository answers with these credentials (git ls-remote). */
  async check(repo: GitRepo): Promise<void> {
    await this.git(repo, undefined, ['ls-remote', '--heads', repo.url]);
  }

  /** Clone directories this process has already checked for leftovers of a dead process. */
  private readonly adopted = new Set<string>();

  /**
   * A worker killed in the middle of a git command leaves lock files (e.g. .git/index.lock) that
   * make every later git command in that clone fail. A clone cache belongs to one worker process
   * and writes to it are serialised in-process, so locks found before this process's first use of
   * the clone are stale: remove them.
   */
  private async adopt(repo: GitRepo, dir: string): Promise<void> {
    if (this.adopted.has(dir)) return;
    this.adopted.add(dir);
    const gitDir = path.join(dir, '.git');
    if (!existsSync(dir)) return;
    // A clone that git no longer recognises (half-written when its process died) is cloned afresh.
    const found = await this.git(repo, dir, ['rev-parse', '--absolute-git-dir']).catch(() => '');
    if (found.trim() !== gitDir) {
      rmSync(dir, { recursive: true, force: true });
      return;
    }
    for (const f of readdirSync(gitDir, { recursive: true, encoding: 'utf8' })) {
      if (f.endsWith('.lock')) rmSync(path.join(gitDir, f), { force: true });
    }
  }

  /** Syncs the clone; a clone git cannot use any more (corrupt, half-written) is cloned afresh. */
  private async syncOrReclone(repo: GitRepo, dir: string): Promise<void> {
    await this.adopt(repo, dir);
    try {
      await this.sync(repo, dir);
    } catch (err) {
      // Credentials, network and remote problems are not fixed by cloning again.
      if (!(err instanceof GitError) || err.kind !== 'other') throw err;
      rmSync(dir, { recursive: true, force: true });
      await this.sync(repo, dir);
    }
  }

  /** Fetches the branch and resets the clone to it; an empty repository gets an orphan branch. */
  private async sync(repo: GitRepo, dir: string): Promise<void> {
    if (!existsSync(path.join(dir, '.git'))) {
      mkdirSync(dir, { recursive: true });
      await this.git(repo, dir, ['init', '-q']);
      await this.git(repo, dir, ['remote', 'add', 'origin', repo.url]);
    }
    const heads = await this.git(repo, dir, ['ls-remote', '--heads', 'origin', repo.branch]);
    if (heads.trim()) {
      await this.git(repo, dir, [
        'fetch',
        '-q',
        '--depth=1',
        'origin',
        `+refs/heads/${repo.branch}:refs/remotes/origin/${repo.branch}`,
      ]);
      await this.git(repo, dir, ['checkout', '-q', '-B', repo.branch, `origin/${repo.branch}`]);
      await this.git(repo, dir, ['reset', '-q', '--hard', `origin/${repo.branch}`]);
    } else {
      // The branch does not exist yet: start it from nothing.
      await this.git(repo, dir, ['symbolic-ref', 'HEAD', `refs/heads/${repo.branch}`]);
      await this.git(repo, dir, ['update-ref', '-d', `refs/heads/${repo.branch}`]).catch(() => undefined);
      await this.git(repo, dir, ['read-tree', '--empty']);
    }
    await this.git(repo, dir, ['clean', '-qfdx']);
  }

  /** One git operation at a time in a clone: a batch of writes, or a read. */
  private readonly exclusive = new KeyedSerializer();

  /** A file of the branch as the remote has it now; undefined when the branch or file is missing. */
  read(repo: GitRepo, file: string): Promise<string | undefined> {
    const rel = storePath(file);
    const dir = this.clonePath(repo);
    return this.exclusive.run(dir, async () => {
      await this.syncOrReclone(repo, dir);
      const full = path.join(dir, rel);
      return existsSync(full) ? readFileSync(full, 'utf8') : undefined;
    });
  }

  /** This writer bound to one repository: the StateStoreWriter the activities use. */
  bind(repo: GitRepo): StateStoreWriter {
    return {
      kind: 'GitStateStore',
      write: async (req) => ({ version: (await this.write(repo, req)).commit }),
      read: (file) => this.read(repo, file),
      check: () => this.check(repo),
    };
  }

  /** Group commit per clone. */
  private readonly queues = new Map<string, GroupCommit<Pending, { commit?: string }>>();

  /**
   * Replaces the content of `req.dir` with `req.files`, commits if anything changed and pushes.
   * Idempotent: writing the same files again makes no commit. Writes to one repository are
   * serialised, and writes that queue up meanwhile are folded into one commit and one push (group
   * commit): 100 resources finishing together cost a few pushes, not 100.
   */
  write(repo: GitRepo, req: WriteRequest): Promise<{ commit?: string }> {
    const dir = this.clonePath(repo);
    let q = this.queues.get(dir);
    if (!q) {
      q = new GroupCommit(groupCommitOptions(), (batch) => this.commitBatch(dir, batch));
      this.queues.set(dir, q);
    }
    return q.add({ repo, req, ctx: context.active() });
  }

  private commitBatch(dir: string, batch: Pending[]): Promise<{ commit?: string }> {
    metrics.stateStoreBatch.observe(batch.length);
    // The newest request carries the newest credentials (e.g. after a Secret was fixed).
    return this.exclusive.run(dir, () =>
      withSpan(
        'statestore write',
        {
          parent: batch[0]!.ctx,
          links: batch
            .slice(1)
            .flatMap((b) => trace.getSpanContext(b.ctx) ?? [])
            .map((sc) => ({ context: sc })),
          attributes: { 'kratix.statestore.kind': 'git', 'kratix.statestore.writes': batch.length },
        },
        async (span) => {
          const r = await this.writeBatch(
            batch.at(-1)!.repo,
            dir,
            batch.map((b) => b.req),
          );
          span.setAttribute('kratix.statestore.commit', r.commit ?? '');
          return r;
        },
      ),
    );
  }

  /**
   * Clones whose branch is the remote branch as of this process's last push to it. A write to one
   * of them skips the fetch and reset (five git commands) and pushes straight away: if someone else
   * pushed meanwhile the push is rejected, and the write syncs and tries again.
   */
  private readonly current = new Set<string>();

  private async writeBatch(repo: GitRepo, dir: string, reqs: WriteRequest[]): Promise<{ commit?: string }> {
    try {
      return await this.writeBatchAttempts(repo, dir, reqs);
    } catch (err) {
      this.current.delete(dir);
      throw err;
    }
  }

  private async writeBatchAttempts(
    repo: GitRepo,
    dir: string,
    reqs: WriteRequest[],
  ): Promise<{ commit?: string }> {
    for (let attempt = 1; ; attempt++) {
      const optimistic = this.current.delete(dir);
      if (!optimistic) await this.syncOrReclone(repo, dir);
      const touched = new TouchedPaths(dir);
      for (const req of reqs) {
        if (req.apply) {
          // A change may work at the repository's root (a Destination with path "."); a replace may not.
          const root = path.resolve(dir);
          const at = path.resolve(root, req.dir);
          if (at !== root && !at.startsWith(root + path.sep))
            throw new GitError(`invalid path ${req.dir}`, 'other');
          const change = req.apply(treeAt(at));
          for (const rel of [...change.remove, ...change.write.map((f) => f.path)])
            touched.add(inside(at, rel));
          applyChange(at, change);
          continue;
        }
        // Paths checked by the shared rules first, so git and buckets accept the same layouts.
        const target = path.join(dir, storeDir(req.dir));
        const files = req.files.map((f) => ({ file: path.join(dir, storeFile(req.dir, f.path)), f }));
        touched.add(target);
        rmSync(target, { recursive: true, force: true });
        for (const { file, f } of files) {
          mkdirSync(path.dirname(file), { recursive: true });
          writeFileSync(file, f.content);
        }
      }
      await this.stage(repo, dir, touched.pathspecs());
      const message =
        reqs.length === 1
          ? reqs[0]!.message
          : `kratix-temporal: ${reqs.length} updates\n\n${reqs.map((r) => `- ${r.message}`).join('\n')}`;
      const committed = await withSpan(
        'git commit',
        { attributes: { 'kratix.statestore.branch': repo.branch } },
        async (span) => {
          const changed = await this.commitIfChanged(repo, dir, message);
          span.setAttribute('kratix.statestore.changed', changed);
          return changed;
        },
      );
      if (!committed) {
        // Unchanged here; unless the clone was not synced and the remote moved on, nothing to do.
        if (optimistic && !(await this.remoteIsAt(repo, dir))) continue;
        this.current.add(dir);
        return {};
      }
      const [pushed, head] = await Promise.allSettled([
        withSpan(
          'git push',
          { attributes: { 'kratix.statestore.branch': repo.branch, 'kratix.statestore.attempt': attempt } },
          () => this.git(repo, dir, ['push', '-q', 'origin', `HEAD:refs/heads/${repo.branch}`]),
        ),
        this.git(repo, dir, ['rev-parse', 'HEAD']),
      ]);
      if (pushed.status === 'rejected') {
        const err: unknown = pushed.reason;
        // Someone else pushed first: start again from their commit.
        if (err instanceof GitError && err.kind === 'rejected' && attempt < 20) continue;
        throw err;
      }
      if (head.status === 'rejected') throw head.reason;
      this.current.add(dir);
      return { commit: head.value.trim() };
    }
  }

  /**
   * Stages the batch's paths only: `git add -A .` stats every file of the clone, ~0.2 s of CPU per
   * write at 10,000 objects. A pathspec git refuses (e.g. one a .gitignore covers) falls back to
   * the whole tree, which skips ignored files as before.
   */
  private async stage(repo: GitRepo, dir: string, pathspecs: string[]): Promise<void> {
    if (pathspecs.length === 0) return;
    try {
      // Literal: an output file's name is a path, never a glob.
      await this.git(repo, dir, ['--literal-pathspecs', 'add', '-A', '--', ...pathspecs]);
    } catch (err) {
      if (!(err instanceof GitError) || pathspecs[0] === '.') throw err;
      await this.git(repo, dir, ['add', '-A', '--', '.']);
    }
  }

  /** Commits the index; false when there was nothing to commit (one git command either way). */
  private async commitIfChanged(repo: GitRepo, dir: string, message: string): Promise<boolean> {
    try {
      await this.git(repo, dir, ['commit', '-q', '-m', message]);
      return true;
    } catch (err) {
      // `git commit` exits 1 and says so on stdout when the index matches HEAD.
      if (err instanceof GitError && /nothing to commit|no changes added/.test(err.stdout)) return false;
      throw err;
    }
  }

  /** Whether the remote branch is still the commit the clone has. */
  private async remoteIsAt(repo: GitRepo, dir: string): Promise<boolean> {
    const [remote, local] = await Promise.all([
      this.git(repo, dir, ['ls-remote', '--heads', 'origin', repo.branch]),
      this.git(repo, dir, ['rev-parse', 'HEAD']).catch(() => ''),
    ]);
    const head = local.trim();
    return head !== '' && remote.split(/\s/)[0] === head;
  }
}

/**
 * The paths a batch changes, relative to the clone, for `git add`: each one that was there before
 * the change (tracked: the clone is clean) or is there after it. A path never there is left out,
 * since git rejects a pathspec that matches nothing.
 */
class TouchedPaths {
  private readonly existedBefore = new Map<string, boolean>();

  constructor(private readonly dir: string) {}

  /** Call before changing `file` (absolute, inside the clone). */
  add(file: string): void {
    const rel = path.relative(this.dir, file) || '.';
    if (!this.existedBefore.has(rel)) this.existedBefore.set(rel, existsSync(file));
  }

  pathspecs(): string[] {
    const out = [...this.existedBefore]
      .filter(([rel, existed]) => existed || existsSync(path.join(this.dir, rel)))
      .map(([rel]) => rel);
    return out.includes('.') ? ['.'] : out;
  }
}

/** Paths under `root` only: a change never reaches outside its Destination. */
function inside(root: string, rel: string): string {
  const p = path.join(root, rel);
  if (!p.startsWith(root + path.sep) || path.relative(root, p).split(path.sep).includes('.git'))
    throw new GitError(`invalid output file path ${rel}`, 'other');
  return p;
}

function treeAt(root: string): TreeReader {
  return {
    read: (rel) => {
      const p = inside(root, rel);
      return existsSync(p) && statSync(p).isFile() ? readFileSync(p, 'utf8') : undefined;
    },
    list: (rel) => {
      const p = inside(root, rel);
      if (!existsSync(p) || !statSync(p).isDirectory()) return [];
      return readdirSync(p, { withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => e.name);
    },
  };
}

function applyChange(root: string, change: TreeChange): void {
  for (const rel of change.remove) rmSync(inside(root, rel), { recursive: true, force: true });
  for (const f of change.write) {
    const file = inside(root, f.path);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, f.content);
  }
}
