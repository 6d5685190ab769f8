import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { collectResult } from '../../src/executors/collect.js';
import { formatBytes, readPipelineDirs } from '../../src/executors/pipeline-files.js';
import { runDirName, runDirsBefore } from '../../src/core/names.js';

const MiB = 1024 * 1024;
const doc = (bytes: number) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n#${'a'.repeat(bytes)}\n`;

describe('pipeline output limits', () => {
  it('formats sizes', () => {
    expect(formatBytes(256 * 1024)).toBe('256 KiB');
    expect(formatBytes(8 * MiB)).toBe('8 MiB');
    expect(formatBytes(5.25 * MiB)).toBe('5.3 MiB');
  });

  it('refuses a status.yaml over 256 KiB, an output file over 1 MiB and more than 8 MiB in all', () => {
    expect(() =>
      collectResult({ output: [], metadata: { 'status.yaml': `m: ${'a'.repeat(300 * 1024)}` } }),
    ).toThrow('/kratix/metadata/status.yaml is 301 KiB, over the 256 KiB limit for a metadata file');
    expect(() =>
      collectResult({ output: [{ path: 'big.yaml', content: doc(2 * MiB) }], metadata: {} }),
    ).toThrow('output file big.yaml is 2.0 MiB, over the 1 MiB limit for one output file');
    const nine = Array.from({ length: 9 }, (_, i) => ({ path: `f${i}.yaml`, content: doc(MiB - 100) }));
    expect(() => collectResult({ output: nine, metadata: {} })).toThrow(
      /^\/kratix\/output holds 9\.0 MiB in 9 files, over the 8 MiB limit for a pipeline's output$/,
    );
    expect(collectResult({ output: nine.slice(0, 8), metadata: {} }).files).toHaveLength(8);
  });

  it('the local reader refuses by size before reading', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'limits-'));
    mkdirSync(path.join(dir, 'out'));
    mkdirSync(path.join(dir, 'meta'));
    writeFileSync(path.join(dir, 'meta', 'status.yaml'), 'x'.repeat(5 * MiB));
    expect(() => readPipelineDirs(path.join(dir, 'out'), path.join(dir, 'meta'))).toThrow(
      '/kratix/metadata/status.yaml is 5 MiB, over the 256 KiB limit for a metadata file',
    );
  });
});

describe('runDirName', () => {
  it('keeps short run ids as they were', () => {
    expect(runDirName('resource/p/ns/r/uid/configure/3')).toBe('resource_p_ns_r_uid_configure_3');
  });

  it('bounds long ones, keeping one prefix per lifecycle', () => {
    const id = (n: number) => `resource/p/ns/${'r-x'.repeat(84)}/0123-uid/configure/${n}`;
    const a = runDirName(id(1));
    const b = runDirName(id(12));
    expect(a.length).toBeLessThanOrEqual(160);
    expect(a).toMatch(/_configure_1$/);
    expect(b.replace(/_configure_12$/, '')).toBe(a.replace(/_configure_1$/, ''));
    expect(runDirName(`resource/p/ns/${'r-x'.repeat(84)}/other-uid/configure/1`)).not.toBe(a);
    expect(runDirName(`${id(1)}/delete`).length).toBeLessThanOrEqual(160);
  });
});

describe('runDirsBefore', () => {
  it('names the earlier runs of the same lifecycle, newest first, down to run 1', () => {
    expect(runDirsBefore('resource_p_ns_r_uid_configure_12', 0, 3)).toEqual([
      'resource_p_ns_r_uid_configure_11',
      'resource_p_ns_r_uid_configure_10',
      'resource_p_ns_r_uid_configure_9',
    ]);
    expect(runDirsBefore('resource_p_ns_r_uid_configure_7', 4, 10)).toEqual([
      'resource_p_ns_r_uid_configure_2',
      'resource_p_ns_r_uid_configure_1',
    ]);
    expect(runDirsBefore('resource_p_ns_r_uid_configure_1', 0, 5)).toEqual([]);
  });

  it('finds shortened names too, and nothing for a delete run', () => {
    const id = (n: number) => `resource/p/ns/${'r-x'.repeat(84)}/0123-uid/configure/${n}`;
    expect(runDirsBefore(runDirName(id(12)), 0, 3)).toEqual([11, 10, 9].map((n) => runDirName(id(n))));
    expect(runDirsBefore(runDirName('resource/p/ns/r/uid/delete'), 0, 5)).toEqual([]);
  });
});
