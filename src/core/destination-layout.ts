// How output is laid out inside a Destination (pure), as upstream Kratix's `spec.filepath`:
// - nestedByMetadata (default): resources/<ns>/<promise>/<name>/<pipeline>/… (see destinations.ts);
// - none: the files as the pipeline wrote them, at the Destination's root; a state file
//   `.kratix/<key>.yaml` per object and pipeline lists them, so files a pipeline stopped producing
//   (or an object that was deleted) are removed, and nobody else's are;
// - aggregatedYAML: every document scheduled to the Destination in one file (`filepath.filename`,
//   default aggregated.yaml), rebuilt from one part per object and pipeline in `.kratix/aggregated/`.

export type FilepathMode = 'nestedByMetadata' | 'aggregatedYAML' | 'none';

export interface DestinationLayout {
  mode: FilepathMode;
  /** The aggregated file (aggregatedYAML). */
  filename: string;
  /** `all`: the Destination's files are removed when it is deleted. */
  cleanup: 'none' | 'all';
}

export interface LayoutFile {
  path: string;
  content: string;
}

/** Read access to the Destination's current files, paths relative to its root. */
export interface TreeReader {
  read(path: string): string | undefined;
  /** Names of the files directly in `dir` (none if it does not exist). */
  list(dir: string): string[];
}

/** What to change under the Destination's root: paths to remove (files or folders), files to write. */
export interface TreeChange {
  remove: string[];
  write: LayoutFile[];
}

export function destinationLayout(spec: Record<string, unknown> | undefined): DestinationLayout {
  const fp = (spec?.filepath ?? {}) as { mode?: string; filename?: string };
  const mode: FilepathMode =
    fp.mode === 'aggregatedYAML' || fp.mode === 'none' ? fp.mode : 'nestedByMetadata';
  return {
    mode,
    filename: fp.filename || 'aggregated.yaml',
    cleanup: spec?.cleanup === 'all' ? 'all' : 'none',
  };
}

/**
 * The key of an object's output (and, with `pipeline`, of one pipeline's): `_` never appears in
 * Kubernetes names, so the key of one object is never a prefix of another's.
 */
export function outputKey(
  o:
    | { type: 'promise'; promise: string }
    | { type: 'resource'; namespace: string; promise: string; name: string },
  pipeline?: string,
): string {
  const base =
    o.type === 'promise' ? `dependencies_${o.promise}_` : `resources_${o.namespace}_${o.promise}_${o.name}_`;
  return pipeline === undefined ? base : `${base}${pipeline}`;
}

const STATE_DIR = '.kratix';
const PARTS_DIR = '.kratix/aggregated';

/** Which keys a change replaces: exactly one (a write) or all with a prefix (an object's removal). */
export type KeySelector = { key: string } | { prefix: string };
const selects = (s: KeySelector, key: string) => ('key' in s ? key === s.key : key.startsWith(s.prefix));
const keysIn = (tree: TreeReader, dir: string) =>
  tree
    .list(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length));

function stateFiles(content: string | undefined): string[] {
  if (!content) return [];
  try {
    const parsed = JSON.parse(content) as { files?: unknown };
    return Array.isArray(parsed.files) ? parsed.files.filter((f): f is string => typeof f === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * Mode none: the files land at the root as written. Files the selected keys wrote before and do
 * not write now are removed; `files` (empty for a removal) are written under `key`'s state file.
 */
export function flatChange(tree: TreeReader, select: KeySelector, files: LayoutFile[]): TreeChange {
  const keep = new Set(files.map((f) => f.path));
  const remove: string[] = [];
  for (const key of keysIn(tree, STATE_DIR).filter((k) => selects(select, k))) {
    for (const f of stateFiles(tree.read(`${STATE_DIR}/${key}.yaml`))) if (!keep.has(f)) remove.push(f);
    if (!('key' in select) || files.length === 0) remove.push(`${STATE_DIR}/${key}.yaml`);
  }
  const write = [...files];
  if ('key' in select && files.length > 0)
    write.push({
      path: `${STATE_DIR}/${select.key}.yaml`,
      content: `${JSON.stringify({ files: files.map((f) => f.path).sort() }, null, 2)}\n`,
    });
  return { remove: [...new Set(remove)], write };
}

/** Documents of several files as one multi-document YAML stream. */
function joinDocuments(contents: string[]): string {
  return contents
    .map((c) => c.trim().replace(/^---\s*\n/, ''))
    .filter(Boolean)
    .join('\n---\n');
}

/**
 * Mode aggregatedYAML: `key`'s part is replaced by `files` (removed when empty, or every part of
 * a prefix for a removal), then `filename` is rebuilt from all parts in key order; it goes once
 * no part is left.
 */
export function aggregatedChange(
  tree: TreeReader,
  filename: string,
  select: KeySelector,
  files: LayoutFile[],
): TreeChange {
  const remove: string[] = [];
  const write: LayoutFile[] = [];
  const parts = new Map<string, string>();
  for (const key of keysIn(tree, PARTS_DIR)) {
    if (selects(select, key)) remove.push(`${PARTS_DIR}/${key}.yaml`);
    else parts.set(key, tree.read(`${PARTS_DIR}/${key}.yaml`) ?? '');
  }
  const mine = joinDocuments([...files].sort((a, b) => a.path.localeCompare(b.path)).map((f) => f.content));
  if ('key' in select && mine) {
    parts.set(select.key, `${mine}\n`);
    write.push({ path: `${PARTS_DIR}/${select.key}.yaml`, content: `${mine}\n` });
    const i = remove.indexOf(`${PARTS_DIR}/${select.key}.yaml`);
    if (i >= 0) remove.splice(i, 1);
  }
  const all = joinDocuments([...parts.keys()].sort().map((k) => parts.get(k)!));
  if (all) write.push({ path: filename, content: `${all}\n` });
  else remove.push(filename);
  return { remove, write };
}

/** `<store path>/<destination path>`: where a Destination's files live in its repository ("" = the root). */
export function destinationRoot(storePath: string | undefined, destinationPath: string): string {
  return [storePath, destinationPath]
    .filter((p): p is string => !!p)
    .flatMap((p) => p.split('/'))
    .filter((p) => p && p !== '.' && p !== '..')
    .join('/');
}
