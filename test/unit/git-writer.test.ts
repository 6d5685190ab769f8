import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GitWriter } from '../../src/statestore/git.js';
import { aggregatedChange, outputKey } from '../../src/core/destination-layout.js';

// Real git on local file:// repositories: fast enough for the unit project.
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

const cm = (name: string) => ({
  path: `${name}.yaml`,
  content: `kind: ConfigMap\nmetadata:\n  name: ${name}\n`,
});

/** A bare `remote.git` in a fresh directory per test, removed after it. */
function withBareRepo(): {
  root: () => string;
  repo: () => { url: string; branch: string };
  /** The files on the remote's main branch. */
  tree: () => string[];
} {
  let root = '';
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'gitwriter-'));
    git(root, 'init', '-q', '--bare', '--initial-branch=main', 'remote.git');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  return {
    root: () => root,
    repo: () => ({ url: `file://${root}/remote.git`, branch: 'main' }),
    tree: () => git(root, '--git-dir=remote.git', 'ls-tree', '-r', '--name-only', 'main').split('\n'),
  };
}

describe('GitWriter after a worker died mid-write', () => {
  const bare = withBareRepo();
  let root: string;
  let repo: { url: string; branch: string };
  beforeEach(() => {
    root = bare.root();
    repo = bare.repo();
  });
  const files = () => {
    const co = path.join(root, `co-${Math.random()}`);
    execFileSync('git', ['clone', '-q', '--branch', 'main', repo.url, co]);
    return readdirSync(path.join(co, 'out')).sort();
  };

  const cloneOf = (cache: string) => path.join(cache, readdirSync(cache)[0]!);

  it('recovers from the lock files a killed git left behind in its clone cache', async () => {
    const cache = path.join(root, 'cache');
    await new GitWriter(cache).write(repo, { dir: 'out', files: [cm('a')], message: 'first' });
    // What SIGKILL during `git add` / `git commit` leaves behind.
    writeFileSync(path.join(cloneOf(cache), '.git', 'index.lock'), '');
    writeFileSync(path.join(cloneOf(cache), '.git', 'refs', 'heads', 'main.lock'), '');

    const restarted = new GitWriter(cache); // the new worker process
    const { commit } = await restarted.write(repo, {
      dir: 'out',
      files: [cm('a'), cm('b')],
      message: 'second',
    });
    expect(commit).toMatch(/^[0-9a-f]{40}$/);
    expect(files()).toEqual(['a.yaml', 'b.yaml']);
    expect(git(root, '--git-dir=remote.git', 'log', '--format=%s', 'main').split('\n')).toEqual([
      'second',
      'first',
    ]);
  });

  it('clones afresh when the cached clone is unusable', async () => {
    const cache = path.join(root, 'cache');
    await new GitWriter(cache).write(repo, { dir: 'out', files: [cm('a')], message: 'first' });
    rmSync(path.join(cloneOf(cache), '.git', 'HEAD')); // a half-written clone
    await new GitWriter(cache).write(repo, { dir: 'out', files: [cm('c')], message: 'second' });
    expect(files()).toEqual(['c.yaml']);
  });
});

describe('GitWriter with other writers on the same branch', () => {
  const bare = withBareRepo();
  let root: string;
  let repo: { url: string; branch: string };
  beforeEach(() => {
    root = bare.root();
    repo = bare.repo();
  });
  const tree = bare.tree;

  it("keeps both workers' writes when one pushes while the other's clone is behind", async () => {
    const a = new GitWriter(path.join(root, 'a'));
    const b = new GitWriter(path.join(root, 'b'));
    await a.write(repo, { dir: 'x', files: [cm('x1')], message: 'a1' });
    await b.write(repo, { dir: 'y', files: [cm('y1')], message: 'b1' });
    // a's clone is one commit behind: its push is refused, it syncs and writes again.
    await a.write(repo, { dir: 'x', files: [cm('x2')], message: 'a2' });
    expect(tree()).toEqual(['x/x2.yaml', 'y/y1.yaml']);
  });

  it('rewrites content another writer replaced, though its own clone shows no change', async () => {
    const a = new GitWriter(path.join(root, 'a'));
    const b = new GitWriter(path.join(root, 'b'));
    await a.write(repo, { dir: 'x', files: [cm('mine')], message: 'a1' });
    await b.write(repo, { dir: 'x', files: [cm('theirs')], message: 'b1' });
    const { commit } = await a.write(repo, { dir: 'x', files: [cm('mine')], message: 'a2' });
    expect(commit).toMatch(/^[0-9a-f]{40}$/);
    expect(tree()).toEqual(['x/mine.yaml']);
  });

  it('makes no commit when nothing changed', async () => {
    const a = new GitWriter(path.join(root, 'a'));
    await a.write(repo, { dir: 'x', files: [cm('same')], message: 'a1' });
    expect(await a.write(repo, { dir: 'x', files: [cm('same')], message: 'a2' })).toEqual({});
    expect(git(root, '--git-dir=remote.git', 'rev-list', '--count', 'main')).toBe('1');
  });
});

describe('GitWriter stages only what a write changed', () => {
  const { root, repo, tree } = withBareRepo();

  it('replaces, adds and removes folders, and removing one never written makes no commit', async () => {
    const a = new GitWriter(path.join(root(), 'a'));
    await a.write(repo(), { dir: 'r/one', files: [cm('one')], message: 'one' });
    await a.write(repo(), { dir: 'r/two', files: [cm('two'), cm('extra')], message: 'two' });
    await a.write(repo(), { dir: 'r/two', files: [cm('two')], message: 'two again' });
    expect(tree()).toEqual(['r/one/one.yaml', 'r/two/two.yaml']);
    await a.write(repo(), { dir: 'r/one', files: [], message: 'remove one' });
    expect(tree()).toEqual(['r/two/two.yaml']);
    expect(await a.write(repo(), { dir: 'r/never', files: [], message: 'remove never' })).toEqual({});
    expect(git(root(), '--git-dir=remote.git', 'rev-list', '--count', 'main')).toBe('4');
  });

  it('writes past a folder the .gitignore of the repository covers (skipped, as git add does)', async () => {
    const a = new GitWriter(path.join(root(), 'a'));
    await a.write(repo(), {
      dir: '.',
      files: [],
      message: 'ignore',
      apply: () => ({ remove: [], write: [{ path: '.gitignore', content: 'skip/\n' }] }),
    });
    expect(await a.write(repo(), { dir: 'skip/x', files: [cm('x')], message: 'ignored' })).toEqual({});
    await a.write(repo(), { dir: 'kept', files: [cm('k')], message: 'kept' });
    expect(tree()).toEqual(['.gitignore', 'kept/k.yaml']);
  });
});

describe('GitWriter changes computed from the tree (Destination layouts)', () => {
  const bare = withBareRepo();

  it('two writers sharing one aggregated file each see the other; nothing leaves its folder or touches .git', async () => {
    const repo = bare.repo();
    const a = new GitWriter(path.join(bare.root(), 'cache-a'));
    const b = new GitWriter(path.join(bare.root(), 'cache-b'));
    const key = (k: string) => outputKey({ type: 'resource', namespace: 'ns', promise: 'p', name: k }, 'x');
    const write = (w: GitWriter, k: string, names: string[]) =>
      w.write(repo, {
        dir: 'dest',
        files: [],
        message: k,
        apply: (tree) => aggregatedChange(tree, 'all.yaml', { key: key(k) }, names.map(cm)),
      });
    await write(a, 'one', ['a']);
    await write(b, 'two', ['b']); // its clone is behind: the push is rejected, it syncs and recomputes
    await write(a, 'one', ['c']);
    const co = path.join(bare.root(), 'co');
    execFileSync('git', ['clone', '-q', '--branch', 'main', repo.url, co]);
    expect(
      execFileSync('cat', [path.join(co, 'dest', 'all.yaml')], { encoding: 'utf8' }).match(/name: \w/g),
    ).toEqual(['name: c', 'name: b']);
    await expect(
      a.write(repo, {
        dir: 'dest',
        files: [],
        message: 'escape',
        apply: () => ({ remove: [], write: [{ path: '../../.git/config', content: 'x' }] }),
      }),
    ).rejects.toThrow(/invalid output file path/);
  });
});
