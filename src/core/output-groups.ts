// Per-directory scheduling of a pipeline's output (pure), as upstream Kratix's
// /kratix/metadata/destination-selectors.yaml: an entry with `directory: x` schedules the files
// under /kratix/output/x on its own (its matchLabels only); everything else is the default group,
// scheduled by the Promise's selectors AND the entries without a directory.
import { combineSelectors, type Selector } from './destinations.js';

export interface WorkflowSelector extends Selector {
  directory?: string;
}

export interface OutputGroup<F extends { path: string }> {
  /** "." for the default group. */
  directory: string;
  files: F[];
  labels: Record<string, string>;
}

/** A destination-selectors.yaml upstream refuses too; the message names the entry. */
export class SelectorFileError extends Error {
  override name = 'SelectorFileError';
}

function normalise(dir: string | undefined): string {
  const d = (dir ?? '').trim().replace(/^\.\//, '').replace(/\/+$/, '');
  return d === '' ? '.' : d;
}

/** The groups of `files`: the default group first (always, even empty), then each directory with files. */
export function outputGroups<F extends { path: string }>(
  files: F[],
  promiseSelectors: Selector[] | undefined,
  workflowSelectors: WorkflowSelector[] | undefined,
): OutputGroup<F>[] {
  const entries = (Array.isArray(workflowSelectors) ? workflowSelectors : []).filter(
    (e): e is WorkflowSelector => typeof e === 'object' && e !== null,
  );
  const seen = new Set<string>();
  const dirs: { directory: string; labels: Record<string, string> }[] = [];
  const rootSelectors: Selector[] = [];
  for (const e of entries) {
    const directory = normalise(e.directory);
    if (seen.has(directory))
      throw new SelectorFileError(
        `invalid destination-selectors.yaml: directory "${directory}" is listed more than once`,
      );
    seen.add(directory);
    if (directory === '.') {
      rootSelectors.push(e);
      continue;
    }
    if (directory.includes('/') || directory === '..')
      throw new SelectorFileError(
        `invalid destination-selectors.yaml: directory "${e.directory}": sub-directories are not allowed (name a folder directly under /kratix/output)`,
      );
    dirs.push({ directory, labels: combineSelectors(undefined, [e]) });
  }
  const inDir = (f: F, d: string) => f.path.startsWith(`${d}/`);
  const groups: OutputGroup<F>[] = [
    {
      directory: '.',
      files: files.filter((f) => !dirs.some((d) => inDir(f, d.directory))),
      labels: combineSelectors(promiseSelectors, rootSelectors),
    },
  ];
  for (const d of dirs) {
    const mine = files.filter((f) => inDir(f, d.directory));
    if (mine.length) groups.push({ directory: d.directory, files: mine, labels: d.labels });
  }
  return groups;
}
