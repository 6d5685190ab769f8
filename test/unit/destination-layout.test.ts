import {
  aggregatedChange,
  destinationLayout,
  flatChange,
  outputKey,
  type TreeChange,
  type TreeReader,
} from '../../src/core/destination-layout.js';
import { outputGroups } from '../../src/core/output-groups.js';

/** An in-memory tree that applies changes, like the git writer does. */
function tree(files: Record<string, string> = {}) {
  const t = { ...files };
  const reader: TreeReader = {
    read: (p) => t[p],
    list: (dir) =>
      Object.keys(t)
        .filter((p) => p.startsWith(`${dir}/`) && !p.slice(dir.length + 1).includes('/'))
        .map((p) => p.slice(dir.length + 1)),
  };
  const apply = (c: TreeChange) => {
    for (const r of c.remove)
      for (const k of Object.keys(t)) if (k === r || k.startsWith(`${r}/`)) delete t[k];
    for (const f of c.write) t[f.path] = f.content;
  };
  return { t, reader, apply };
}

const cm = (n: string) => ({
  path: `${n}.yaml`,
  content: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${n}\n`,
});
const a = outputKey({ type: 'resource', namespace: 'ns', promise: 'db', name: 'a' }, 'p');
const ab = outputKey({ type: 'resource', namespace: 'ns', promise: 'db', name: 'a-b' }, 'p');

describe('destination layout', () => {
  it('defaults as upstream', () => {
    expect(destinationLayout(undefined)).toEqual({
      mode: 'nestedByMetadata',
      filename: 'aggregated.yaml',
      cleanup: 'none',
    });
    expect(
      destinationLayout({ filepath: { mode: 'aggregatedYAML', filename: 'all.yaml' }, cleanup: 'all' }),
    ).toEqual({
      mode: 'aggregatedYAML',
      filename: 'all.yaml',
      cleanup: 'all',
    });
  });

  it('keys of different objects are never prefixes of each other', () => {
    const prefixA = outputKey({ type: 'resource', namespace: 'ns', promise: 'db', name: 'a' });
    expect(a.startsWith(prefixA)).toBe(true);
    expect(ab.startsWith(prefixA)).toBe(false);
  });

  it('none: files at the root, stale ones removed, other objects untouched', () => {
    const { t, reader, apply } = tree();
    apply(flatChange(reader, { key: a }, [cm('one'), cm('two')]));
    apply(flatChange(reader, { key: ab }, [cm('other')]));
    expect(Object.keys(t).sort()).toEqual([
      `.kratix/${ab}.yaml`,
      `.kratix/${a}.yaml`,
      'one.yaml',
      'other.yaml',
      'two.yaml',
    ]);
    apply(flatChange(reader, { key: a }, [cm('two')]));
    expect(t['one.yaml']).toBeUndefined();
    apply(
      flatChange(
        reader,
        { prefix: outputKey({ type: 'resource', namespace: 'ns', promise: 'db', name: 'a' }) },
        [],
      ),
    );
    expect(Object.keys(t).sort()).toEqual([`.kratix/${ab}.yaml`, 'other.yaml']);
  });

  it('aggregatedYAML: one file with every object, rebuilt on change, gone when empty', () => {
    const { t, reader, apply } = tree();
    apply(aggregatedChange(reader, 'all.yaml', { key: a }, [cm('one')]));
    apply(aggregatedChange(reader, 'all.yaml', { key: ab }, [cm('two'), cm('three')]));
    // Parts in key order ("-" sorts before "_"), each part's files by path.
    expect(t['all.yaml']!.match(/name: \w+/g)).toEqual(['name: three', 'name: two', 'name: one']);
    apply(aggregatedChange(reader, 'all.yaml', { key: a }, []));
    expect(t['all.yaml']!.match(/name: \w+/g)).toEqual(['name: three', 'name: two']);
    apply(
      aggregatedChange(
        reader,
        'all.yaml',
        { prefix: outputKey({ type: 'resource', namespace: 'ns', promise: 'db', name: 'a-b' }) },
        [],
      ),
    );
    expect(t).toEqual({});
  });
});

describe('output groups (destination-selectors.yaml directories)', () => {
  const files = [
    { path: 'a.yaml' },
    { path: 'infra/b.yaml' },
    { path: 'infra/c/d.yaml' },
    { path: 'apps/e.yaml' },
  ];

  it('splits by directory; the default group gets the Promise selectors, directories only theirs', () => {
    const groups = outputGroups(
      files,
      [{ matchLabels: { team: 'x' } }],
      [
        { matchLabels: { env: 'dev' } },
        { directory: 'infra', matchLabels: { env: 'infra' } },
        { directory: 'empty/', matchLabels: { env: 'none' } },
      ],
    );
    expect(groups).toEqual([
      {
        directory: '.',
        files: [{ path: 'a.yaml' }, { path: 'apps/e.yaml' }],
        labels: { env: 'dev', team: 'x' },
      },
      {
        directory: 'infra',
        files: [{ path: 'infra/b.yaml' }, { path: 'infra/c/d.yaml' }],
        labels: { env: 'infra' },
      },
    ]);
  });

  it('refuses sub-directories and duplicates, as upstream', () => {
    expect(() => outputGroups(files, [], [{ directory: 'infra/c', matchLabels: { a: 'b' } }])).toThrow(
      /sub-directories are not allowed/,
    );
    expect(() =>
      outputGroups(
        files,
        [],
        [
          { directory: 'x', matchLabels: { a: 'b' } },
          { directory: 'x/', matchLabels: { a: 'c' } },
        ],
      ),
    ).toThrow(/listed more than once/);
  });
});
