// The local executor's container output, kept for `kratix-temporal logs`: while a run's folder
// exists its logs are read there; when the folder goes (a run succeeded, the next run started)
// each log is copied out first, cut to its last KEPT_LOG_BYTES, and only the newest
// KEPT_RUNS_PER_LIFECYCLE runs of an object keep theirs. Bounded per object whatever it prints.
import { closeSync, existsSync, openSync, readdirSync, readSync, rmSync, statSync } from 'node:fs';
import { copyFile, mkdir, rm, stat, writeFile } from 'node:fs/promises';
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

/**
 * Copies a run's logs out of its folder before the folder is removed. Never throws: logs are a
 * convenience. Asynchronous: on a busy worker these file operations otherwise hold the event loop
 * that every activity and heartbeat shares.
 */
export async function keepRunLogs(workDir: string, runId: string): Promise<void> {
  try {
    const live = runFolder(workDir, runId);
    if (!existsSync(live)) return;
    const kept = archiveFolder(workDir, runId);
    await Promise.all(
      findRunLogs(workDir, runId).map(async (log) => {
        const dir = path.join(kept, `${log.pipelineIndex}-${log.pipeline}`);
        await mkdir(dir, { recursive: true });
        const target = path.join(dir, path.basename(log.file));
        if ((await stat(log.file)).size <= KEPT_LOG_BYTES) await copyFile(log.file, target);
        else await writeFile(target, readTail(log.file));
      }),
    );
    await pruneKeptLogs(workDir, path.basename(kept));
  } catch {
    // A full disk or a racing removal must not fail the run.
  }
}

/**
 * Keeps the newest KEPT_RUNS_PER_LIFECYCLE runs' logs of the lifecycle `name` belongs to: the
 * configure runs that fell out of that window, by name (the folder holds every object's logs).
 */
async function pruneKeptLogs(workDir: string, name: string): Promise<void> {
  const root = path.join(workDir, 'logs');
  await Promise.all(
    runDirsBefore(name, KEPT_RUNS_PER_LIFECYCLE - 1, 2 * KEPT_RUNS_PER_LIFECYCLE).map((e) =>
      rm(path.join(root, e), { recursive: true, force: true }),
    ),
  );
}

/** The object is gone: so are its runs' kept logs. */
export function removeKeptLogs(workDir: string, lifecycleId: string): void {
  const root = path.join(workDir, 'logs');
  for (const e of runDirsOfLifecycle(lifecycleId, list(root)))
    rmSync(path.join(root, e), { recursive: true, force: true });
}
