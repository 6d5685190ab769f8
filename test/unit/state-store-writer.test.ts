import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { classifyS3Failure, endpointUrl } from '../../src/statestore/bucket.js';
import { GitWriter } from '../../src/statestore/git.js';
import {
  KeyedSerializer,
  planReplace,
  StateStoreAccessError,
  storeDir,
  storeFile,
  type StateStoreWriter,
} from '../../src/statestore/writer.js';

describe('state store paths', () => {
  it('normalises folders the same way for every store', () => {
    expect(storeDir('clusters/dev/resources/ns/p/r/pipe/')).toBe('clusters/dev/resources/ns/p/r/pipe');
    expect(storeDir('/a//b/./c')).toBe('a/b/c');
    expect(storeFile('a/b', 'nested/x.yaml')).toBe('a/b/nested/x.yaml');
  });

  it('refuses paths that leave the store or the folder', () => {
    for (const bad of ['', '/', '../x', 'a/../../x', 'a/..'])
      expect(() => storeDir(bad)).toThrow(StateStoreAccessError);
    for (const bad of ['../x.yaml', '/etc/passwd', 'x/../../y.yaml', '', 'dir/'])
      expect(() => storeFile('a/b', bad)).toThrow(/invalid output file path/);
  });
});

describe('planReplace (a folder replaced in a key/value store)', () => {
  const digest = (s: string) => `d(${s})`;

  it('puts new and changed files, keeps unchanged ones, deletes the rest of the folder', () => {
    const existing = new Map<string, string | undefined>([
      ['o/keep.yaml', 'd(same)'],
      ['o/change.yaml', 'd(old)'],
      ['o/gone.yaml', 'd(x)'],
      ['o/sub/gone.yaml', 'd(y)'],
    ]);
    const plan = planReplace(
      'o',
      [
        { path: 'keep.yaml', content: 'same' },
        { path: 'change.yaml', content: 'new' },
        { path: 'sub/new.yaml', content: 'n' },
      ],
      existing,
      digest,
    );
    expect(plan.put.map((p) => p.key)).toEqual(['o/change.yaml', 'o/sub/new.yaml']);
    expect(plan.remove).toEqual(['o/gone.yaml', 'o/sub/gone.yaml']);
  });

  it('no files means remove everything under the folder; nothing there means nothing to do', () => {
    expect(planReplace('o', [], new Map([['o/a', 'd(a)']]), digest)).toEqual({ put: [], remove: ['o/a'] });
    expect(planReplace('o', [], new Map(), digest)).toEqual({ put: [], remove: [] });
  });
});

describe('classifyS3Failure', () => {
  it('tells credentials, missing buckets and unreachable endpoints apart', () => {
    expect(
      classifyS3Failure({
        name: 'InvalidAccessKeyId',
        message: 'The AWS Access Key Id you provided does not exist in our records.',
        $metadata: { httpStatusCode: 403 },
      }),
    ).toEqual({
      kind: 'auth',
      detail:
        'InvalidAccessKeyId (HTTP 403): The AWS Access Key Id you provided does not exist in our records.',
    });
    expect(
      classifyS3Failure({ name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } }).kind,
    ).toBe('auth');
    expect(classifyS3Failure({ name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } }).kind).toBe(
      'notfound',
    );
    expect(
      classifyS3Failure(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })).kind,
    ).toBe('unreachable');
    expect(classifyS3Failure({ name: 'InternalError', $metadata: { httpStatusCode: 500 } }).kind).toBe(
      'other',
    );
  });

  it('builds the endpoint URL as upstream: https unless insecure, an explicit scheme wins', () => {
    expect(endpointUrl({ endpoint: 's3.example.com', insecure: false })).toBe('https://s3.example.com');
    expect(endpointUrl({ endpoint: '127.0.0.1:9000', insecure: true })).toBe('http://127.0.0.1:9000');
    expect(endpointUrl({ endpoint: 'http://minio:9000', insecure: false })).toBe('http://minio:9000');
  });
});

describe('KeyedSerializer', () => {
  it('runs tasks of one key one at a time, in order, and keeps going after a failure', async () => {
    const s = new KeyedSerializer();
    const log: string[] = [];
    const task =
      (name: string, fail = false) =>
      async () => {
        log.push(`start ${name}`);
        await new Promise((r) => setTimeout(r, 5));
        log.push(`end ${name}`);
        if (fail) throw new Error(name);
        return name;
      };
    const results = await Promise.allSettled([s.run('k', task('a', true)), s.run('k', task('b'))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b']);
  });
});

// The writer contract on real git (a file:// bare repository): what activities rely on.
describe('StateStoreWriter contract (git)', () => {
  let root: string;
  let writer: StateStoreWriter;
  let bare: string;

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'writer-'));
    bare = path.join(root, 'remote.git');
    execFileSync('git', ['init', '-q', '--bare', '--initial-branch=main', bare]);
    writer = new GitWriter(path.join(root, 'cache')).bind({
      url: `file://${bare}`,
      branch: 'main',
      author: { name: 'Platform Bot', email: 'bot@example.com' },
    });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('replaces a folder, reads back, is idempotent, removes, and commits as gitAuthor', async () => {
    const first = await writer.write({
      dir: 'dest/x',
      files: [
        { path: 'a.yaml', content: 'a: 1\n' },
        { path: 'sub/b.yaml', content: 'b: 1\n' },
      ],
      message: 'first',
    });
    expect(first.version).toMatch(/^[0-9a-f]{40}$/);
    expect(await writer.read('dest/x/sub/b.yaml')).toBe('b: 1\n');
    expect(
      await writer.write({
        dir: 'dest/x',
        files: [
          { path: 'a.yaml', content: 'a: 1\n' },
          { path: 'sub/b.yaml', content: 'b: 1\n' },
        ],
        message: 'same',
      }),
    ).toEqual({});
    await writer.write({ dir: 'dest/x', files: [{ path: 'a.yaml', content: 'a: 2\n' }], message: 'second' });
    expect(await writer.read('dest/x/a.yaml')).toBe('a: 2\n');
    expect(await writer.read('dest/x/sub/b.yaml')).toBeUndefined();
    await writer.write({ dir: 'dest/x', files: [], message: 'removed' });
    expect(await writer.read('dest/x/a.yaml')).toBeUndefined();
    const log = execFileSync('git', ['--git-dir', bare, 'log', '--format=%an <%ae>|%cn|%s', 'main'], {
      encoding: 'utf8',
    });
    expect(log.trim().split('\n')).toEqual([
      'Platform Bot <bot@example.com>|Platform Bot|removed',
      'Platform Bot <bot@example.com>|Platform Bot|second',
      'Platform Bot <bot@example.com>|Platform Bot|first',
    ]);
  });

  it('refuses a file path that escapes its folder, writing nothing', async () => {
    await expect(
      writer.write({ dir: 'dest/x', files: [{ path: '../../evil.yaml', content: 'x' }], message: 'bad' }),
    ).rejects.toThrow(/invalid output file path/);
    expect(await writer.read('evil.yaml')).toBeUndefined();
  });
});
