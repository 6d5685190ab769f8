// The local executor's run folders on this worker: one per run, kept while it may resume.
import { existsSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { runDirName, runDirsBefore, runDirsOfLifecycle } from '../src/core/names.js';
import { keepRunLogs, removeKeptLogs } from '../src/executors/local-logs.js';
import type { ActivityDeps } from './deps.js';

/** How many earlier runs' folders a run start looks for. */
const PRUNE_WINDOW = 10;

/** Folder of one run: the same on every retry of an activity, so a retry resumes. */
export function runRoot(deps: ActivityDeps, runId: string): string {
  return path.join(deps.workDir, 'runs', runDirName(runId));
}

/**
 * Removes the folders of this lifecycle's earlier runs (failed runs keep theirs for debugging until
 * the next run starts; successful runs remove their own). One run per lifecycle at a time.
 */
export async function pruneEarlierRuns(deps: ActivityDeps, runId: string): Promise<void> {
  const dir = path.join(deps.workDir, 'runs');
  // Normally only the run before this one (when it failed); a few more if runs of this object
  // moved between workers.
  for (const e of runDirsBefore(path.basename(runRoot(deps, runId)), 0, PRUNE_WINDOW)) {
    const folder = path.join(dir, e);
    if (!existsSync(folder)) continue;
    await keepRunLogsOfDir(deps, e);
    await rm(folder, { recursive: true, force: true });
  }
}

/** Keeps a run's container output (bounded) for `kratix-temporal logs`, then removes its folder. */
export async function removeRunDir(deps: ActivityDeps, runId: string): Promise<void> {
  await keepRunLogs(deps.workDir, runId);
  await rm(runRoot(deps, runId), { recursive: true, force: true });
}

/** keepRunLogs by folder name: a pruned folder's run id is only known by its name. */
function keepRunLogsOfDir(deps: ActivityDeps, dirName: string): Promise<void> {
  // runDirName is idempotent on names it made (path-safe already), so the name stands for the id.
  return keepRunLogs(deps.workDir, dirName);
}

export async function removeRunDirs(deps: ActivityDeps, lifecycleId: string): Promise<void> {
  const dir = path.join(deps.workDir, 'runs');
  let entries: string[] = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const e of runDirsOfLifecycle(lifecycleId, entries))
    await rm(path.join(dir, e), { recursive: true, force: true });
  removeKeptLogs(deps.workDir, lifecycleId);
}
