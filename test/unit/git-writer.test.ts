import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GitWriter } from '../../src/statestore/git.js';

// Real git on local file:// repositories: fast enough for the unit project.
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

describe('GitWriter after a worker died mid-write', () => {
  let root: string;
  let repo: { url: string; branch: string };
  const cm = (name: string) => ({
    path: `${name}.yaml`,
    content: `kind: ConfigMap\nmetadata:\n  name: ${name}\n`,
  });
  const files = () => {
    const co = path.join(root, `co-${Math.random()}`);
    execFileSync('git', ['clone', '-q', '--branch', 'main', repo.url, co]);
    return readdirSync(path.join(co, 'out')).sort();
  };

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'gitwriter-'));
    git(root, 'init', '-q', '--bare', '--initial-branch=main', 'remote.git');
    repo = { url: `file://${root}/remote.git`, branch: 'main' };
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

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
