import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { collectResult, validateOutputFile } from '../../src/executors/collect.js';
import { decodeResult, encodeResult, readPipelineDirs } from '../../src/executors/pipeline-files.js';

describe('validateOutputFile', () => {
  it('accepts files of Kubernetes documents, including several per file and empty documents', () => {
    expect(() =>
      validateOutputFile(
        'a.yaml',
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n---\n',
      ),
    ).not.toThrow();
  });

  it.each([
    [
      'hello: world\n',
      'output file f.yaml: document 1 is not a Kubernetes object (needs apiVersion, kind and metadata.name)',
    ],
    [
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\nkind: X\n',
      'output file f.yaml: document 2 is not a Kubernetes object',
    ],
    ['just text\n', 'output file f.yaml: document 1 is not a Kubernetes object'],
    ['a: [unclosed\n', 'output file f.yaml: invalid YAML in document 1'],
  ])('rejects %p naming the file and document', (content, message) => {
    expect(() => validateOutputFile('f.yaml', content)).toThrow(message);
  });
});

describe('collectResult', () => {
  const run = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'collect-'));
    for (const d of ['output', 'metadata']) mkdirSync(path.join(dir, d));
    return dir;
  };

  it('keeps nested output folders and reads status and the older selector file names', () => {
    const dir = run();
    mkdirSync(path.join(dir, 'output', 'nested'));
    writeFileSync(
      path.join(dir, 'output', 'nested', 'cm.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n',
    );
    writeFileSync(path.join(dir, 'metadata', 'status.yaml'), 'message: hi\n');
    writeFileSync(path.join(dir, 'metadata', 'scheduling.yaml'), '- matchLabels:\n    env: dev\n');
    writeFileSync(path.join(dir, 'metadata', 'scratch.txt'), 'ignored');
    const r = collectResult(readPipelineDirs(path.join(dir, 'output'), path.join(dir, 'metadata')));
    expect(r.files.map((f) => f.path)).toEqual(['nested/cm.yaml']);
    expect(r.status).toEqual({ message: 'hi' });
    expect(r.destinationSelectors).toEqual([{ matchLabels: { env: 'dev' } }]);
  });

  it('reads destination selectors as written: label values that look like numbers stay strings', () => {
    const dir = run();
    writeFileSync(
      path.join(dir, 'metadata', 'destination-selectors.yaml'),
      '- matchLabels:\n    tier: 285e89\n    version: 1.10\n    on: yes\n  directory: 007\n',
    );
    const r = collectResult(readPipelineDirs(path.join(dir, 'output'), path.join(dir, 'metadata')));
    expect(r.destinationSelectors).toEqual([
      { matchLabels: { tier: '285e89', version: '1.10', on: 'yes' }, directory: '007' },
    ]);
  });

  it('rejects a status.yaml that is not a map', () => {
    const dir = run();
    writeFileSync(path.join(dir, 'metadata', 'status.yaml'), '- a\n');
    expect(() =>
      collectResult(readPipelineDirs(path.join(dir, 'output'), path.join(dir, 'metadata'))),
    ).toThrow('/kratix/metadata/status.yaml must be a YAML map, got a list');
  });

  it('refuses symbolic links in /kratix/output instead of following them out of the run', () => {
    const dir = run();
    symlinkSync('/etc/passwd', path.join(dir, 'output', 'x.yaml'));
    expect(() => readPipelineDirs(path.join(dir, 'output'), path.join(dir, 'metadata'))).toThrow(
      '/kratix/output/x.yaml is a symbolic link; pipelines must write regular files there',
    );
    const dir2 = run();
    symlinkSync('/nonexistent', path.join(dir2, 'metadata', 'status.yaml'));
    expect(() => readPipelineDirs(path.join(dir2, 'output'), path.join(dir2, 'metadata'))).toThrow(
      '/kratix/metadata/status.yaml is a symbolic link',
    );
  });
});

describe('result bundle (Pod -> worker)', () => {
  const files = {
    output: [{ path: 'a/b.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n' }],
    metadata: { 'status.yaml': 'message: hi\n' },
  };

  it('round-trips output and metadata files', () => {
    expect(decodeResult(encodeResult(files))).toEqual(files);
  });

  it('refuses a result over the limit with a message naming the limit', () => {
    const big = {
      output: [
        {
          path: 'big.yaml',
          content:
            Math.random().toString(36).repeat(1).padEnd(1, 'x') +
            Array.from({ length: 40000 }, (_, i) => `k${i}: ${(i * 7919) % 104729}`).join('\n'),
        },
      ],
      metadata: {},
    };
    expect(() => encodeResult(big, 10 * 1024)).toThrow(
      /compressed \(1 output files, \d+ KiB uncompressed\), over the 10 KiB limit/,
    );
  });
});
