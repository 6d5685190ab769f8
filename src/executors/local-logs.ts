// The local executor's container output, kept for `kratix-temporal logs`: while a run's folder
// exists its logs are read there; when the folder goes (a run succeeded, the next run started)
// each log is copied out first, cut to its last KEPT_LOG_BYTES, and only the newest
// KEPT_RUNS_PER_LIFECYCLE runs of an object keep theirs. Bounded per object whatever it prints.
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { runDirName, runDirsBefore, runDirsOfLifecycle } from '../core/names.js';

export const KEPT_LOG_BYTES = 64 * 1024;
export const KEPT_RUNS_PER_LIFECYCLE = 5;

/** Folder of one run under a worker's --work-dir (the activities' runRoot). */
export const runFolder = (workDir: string, runId: string) => path.join(workDir, 'runs', runDirName(runId));
const archiveFolder = (workDir: string, runId: string) => path.join(workDir, 'logs', runDirName(runId));

export interface LocalLogFile {
  pipelineIndex: number;
  pipeline: string;
  containerIndex: number;
  container: string;
  file: string;
}

const numbered = (name: string) => {
  const m = /^(\d+)-(.+)$/.exec(name);
  return m ? { index: Number(m[1]), name: m[2]! } : undefined;
};

const list = (dir: string) => {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
};

/** The logs of a run, by pipeline and container: from its folder, else from the kept copies. */
export function findRunLogs(workDir: string, runId: string): LocalLogFile[] {
  const live = runFolder(workDir, runId);
  const kept = archiveFolder(workDir, runId);
  const root = existsSync(live) ? live : kept;
  const out: LocalLogFile[] = [];
  for (const p of list(root)) {
    const pipeline = numbered(p);
    if (!pipeline) continue;
    const dir = root === live ? path.join(root, p, 'logs') : path.join(root, p);
    for (const f of list(dir)) {
      const container = numbered(f.replace(/\.log$/, ''));
      if (!container || !f.endsWith('.log')) continue;
      out.push({
        pipelineIndex: pipeline.index,
        pipeline: pipeline.name,
        containerIndex: container.index,
        container: container.name,
        file: path.join(dir, f),
      });
    }
  }
  return out.sort((a, b) => a.pipelineIndex - b.pipelineIndex || a.containerIndex - b.containerIndex);
}

/** The last `maxBytes` of a file (the start of a cut file is marked). */
export function readTail(file: string, maxBytes = KEPT_LOG_BYTES): string {
  const size = statSync(file).size;
  if (size <= maxBytes) {
    const fd = openSync(file, 'r');
    try {
      const buf = Buffer.alloc(size);
      readSync(fd, buf, 0, size, 0);
      return buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
  }
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(maxBytes);
    readSync(fd, buf, 0, maxBytes, size - maxBytes);
    return `[… ${size - maxBytes} earlier bytes not kept]\n${buf.toString('utf8').replace(/^[^\n]*\n/, '')}`;
  } finally {
    closeSync(fd);
  }
}

/** Copies a run's logs out of its folder before the folder is removed. Never throws: logs are a convenience. */
export function keepRunLogs(workDir: string, runId: string): void {
  try {
    const live = runFolder(workDir, runId);
    if (!existsSync(live)) return;
    const kept = archiveFolder(workDir, runId);
    for (const log of findRunLogs(workDir, runId)) {
      const dir = path.join(kept, `${log.pipelineIndex}-${log.pipeline}`);
      mkdirSync(dir, { recursive: true });
      const target = path.join(dir, path.basename(log.file));
      if (statSync(log.file).size <= KEPT_LOG_BYTES) copyFileSync(log.file, target);
      else writeFileSync(target, readTail(log.file));
    }
    pruneKeptLogs(workDir, path.basename(kept));
  } catch {
    // A full disk or a racing removal must not fail the run.
  }
}

/**
 * Keeps the newest KEPT_RUNS_PER_LIFECYCLE runs' logs of the lifecycle `name` belongs to: the
 * configure runs that fell out of that window, by name (the folder holds every object's logs).
 */
function pruneKeptLogs(workDir: string, name: string): void {
  const root = path.join(workDir, 'logs');
  for (const e of runDirsBefore(name, KEPT_RUNS_PER_LIFECYCLE - 1, 2 * KEPT_RUNS_PER_LIFECYCLE))
    rmSync(path.join(root, e), { recursive: true, force: true });
}

/** The object is gone: so are its runs' kept logs. */
export function removeKeptLogs(workDir: string, lifecycleId: string): void {
  const root = path.join(workDir, 'logs');
  for (const e of runDirsOfLifecycle(lifecycleId, list(root)))
    rmSync(path.join(root, e), { recursive: true, force: true });
}
