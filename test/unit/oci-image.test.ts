import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  imageConfig,
  normalizeEntries,
  paxRecord,
  referenceTag,
  tarHeader,
  writeOciArchive,
} from '../../src/infra/oci-image.js';

describe('oci-image', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'oci-image-test-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes ustar headers with a valid checksum, mtime 0 and owner 0:0', () => {
    const h = tarHeader({ path: 'bin/sh', type: 'symlink', mode: 0o777, linkTarget: '/bin/busybox' });
    expect(h).toHaveLength(512);
    const field = (o: number, n: number) =>
      h
        .subarray(o, o + n)
        .toString('latin1')
        .replace(/\0.*$/s, '');
    expect(field(0, 100)).toBe('bin/sh');
    expect(field(108, 8)).toBe('0000000');
    expect(field(136, 12)).toBe('00000000000');
    expect(field(156, 1)).toBe('2');
    expect(field(157, 100)).toBe('/bin/busybox');
    expect(field(257, 6)).toBe('ustar');
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    expect(parseInt(field(148, 8), 8)).toBe(sum);
  });

  it('uses a PAX header for paths that do not fit ustar', () => {
    const long = 'x'.repeat(120);
    const h = tarHeader({ path: long, type: 'file', mode: 0o644, size: 3 });
    expect(h).toHaveLength(3 * 512);
    expect(h.subarray(156, 157).toString()).toBe('x');
    expect(h.subarray(512, 1024).toString()).toContain(` path=${long}\n`);
    // a long path with a short enough last part goes into the prefix field instead
    expect(tarHeader({ path: `${'d'.repeat(120)}/f`, type: 'file', mode: 0o644 })).toHaveLength(512);
  });

  it('counts the length prefix itself in PAX records', () => {
    for (const v of ['a', 'x'.repeat(90), 'y'.repeat(95), 'z'.repeat(994)]) {
      const r = paxRecord('path', v);
      expect(Number(r.split(' ')[0])).toBe(Buffer.byteLength(r));
    }
  });

  it('adds parent directories, sorts and rejects duplicates', () => {
    const e = normalizeEntries([
      { path: '/usr/local/bin/kubectl', type: 'file', content: 'k' },
      { path: 'bin', type: 'dir' },
      { path: 'bin/sh', type: 'symlink', target: 'busybox' },
    ]);
    expect(e.map((x) => x.path)).toEqual([
      'bin',
      'bin/sh',
      'usr',
      'usr/local',
      'usr/local/bin',
      'usr/local/bin/kubectl',
    ]);
    expect(() =>
      normalizeEntries([
        { path: 'a', type: 'dir' },
        { path: 'a/', type: 'dir' },
      ]),
    ).toThrow(/duplicate/);
    expect(() => normalizeEntries([{ path: '../a', type: 'dir' }])).toThrow(/invalid/);
  });

  it('names the tag of a reference', () => {
    expect(referenceTag('localhost/kratix-temporal/pause:3.10')).toBe('3.10');
    expect(referenceTag('localhost:5000/x')).toBe('latest');
    expect(referenceTag('x:1@sha256:abc')).toBe('1');
  });

  it('builds the config with a default PATH', () => {
    const c = imageConfig({ cmd: ['/bin/sh'], env: { A: 'b' }, user: '65532' }, 'sha256:x', 'amd64') as {
      config: Record<string, unknown>;
    };
    expect(c.config).toEqual({
      User: '65532',
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=b'],
      Cmd: ['/bin/sh'],
      WorkingDir: '/',
    });
  });

  it('writes the same archive twice from a directory, readable by tar', async () => {
    const root = path.join(dir, 'rootfs');
    mkdirSync(path.join(root, 'bin'), { recursive: true });
    mkdirSync(path.join(root, 'tmp'), { mode: 0o1777 });
    execFileSync('chmod', ['1777', path.join(root, 'tmp')]);
    writeFileSync(path.join(root, 'bin', 'hello'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
    symlinkSync('hello', path.join(root, 'bin', 'hi'));
    const a = await writeOciArchive(
      { name: 'localhost/t/x:1', rootfs: root, cmd: ['/bin/hello'] },
      path.join(dir, 'a.tar'),
    );
    const b = await writeOciArchive(
      { name: 'localhost/t/x:1', rootfs: root, cmd: ['/bin/hello'] },
      path.join(dir, 'b.tar'),
    );
    expect(readFileSync(a.archive).equals(readFileSync(b.archive))).toBe(true);
    expect(a.manifestDigest).toBe(b.manifestDigest);

    const outer = execFileSync('tar', ['-tf', a.archive], { encoding: 'utf8' }).trim().split('\n');
    expect(outer).toEqual(
      expect.arrayContaining(['oci-layout', 'index.json', `blobs/sha256/${a.layerDigest.slice(7)}`]),
    );
    const index = JSON.parse(
      execFileSync('tar', ['-xOf', a.archive, 'index.json'], { encoding: 'utf8' }),
    ) as {
      manifests: { digest: string; annotations: Record<string, string> }[];
    };
    expect(index.manifests[0]!.digest).toBe(a.manifestDigest);
    expect(index.manifests[0]!.annotations['io.containerd.image.name']).toBe('localhost/t/x:1');

    execFileSync('tar', ['-xf', a.archive, '-C', dir, `blobs/sha256/${a.layerDigest.slice(7)}`]);
    const listing = execFileSync('tar', ['-tvf', path.join(dir, 'blobs/sha256', a.layerDigest.slice(7))], {
      encoding: 'utf8',
      env: { ...process.env, TZ: 'UTC' },
    });
    expect(listing).toMatch(/^drwxr-xr-x 0\/0 +0 1970-01-01 00:00 bin\/$/m);
    expect(listing).toMatch(/^-rwxr-xr-x 0\/0 +18 1970-01-01 00:00 bin\/hello$/m);
    expect(listing).toMatch(/^lrwxrwxrwx 0\/0 +0 1970-01-01 00:00 bin\/hi -> hello$/m);
    expect(listing).toMatch(/^drwxrwxrwt 0\/0 +0 1970-01-01 00:00 tmp\/$/m);
  });
});
