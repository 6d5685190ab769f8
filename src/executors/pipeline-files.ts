// What a pipeline leaves behind, as data: read from the run's folders (local executor, the in-Pod
// collector) and handed back from a Pod through its run Secret (kubernetes executor).
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DEFAULT_RESULT_LIMIT_BYTES } from '../core/pipeline-settings.js';

export interface OutputFile {
  /** Path relative to /kratix/output (nested folders kept). */
  path: string;
  content: string;
}

export interface PipelineFiles {
  /** Every file under /kratix/output. */
  output: OutputFile[];
  /** Files directly in /kratix/metadata, by name. */
  metadata: Record<string, string>;
}

/** A problem with what a pipeline produced; the message names the file. */
export class PipelineOutputError extends Error {
  override name = 'PipelineOutputError';
}

/** Largest single file a pipeline may leave in /kratix/output. */
export const OUTPUT_FILE_LIMIT_BYTES = 1024 * 1024;
/** Largest total a pipeline may leave in /kratix/output (all files together). */
export const OUTPUT_TOTAL_LIMIT_BYTES = 8 * 1024 * 1024;
/**
 * Largest file in /kratix/metadata (status.yaml, destination-selectors.yaml): status lands on the
 * object, and the API server refuses objects over ~1.5 MiB (etcd) and requests over 3 MiB.
 */
export const METADATA_FILE_LIMIT_BYTES = 256 * 1024;

/** "256 KiB", "1 MiB", "5.2 MiB". */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) {
    const mib = n / (1024 * 1024);
    return `${Number.isInteger(mib) ? mib : mib.toFixed(1)} MiB`;
  }
  return `${Math.ceil(n / 1024)} KiB`;
}

/**
 * Refuses what is over the limits above, naming the file (or the total) and the limit. Works on
 * sizes, so the local executor checks before reading a file and a result from a Pod after.
 */
export function checkPipelineFileSizes(
  output: { path: string; bytes: number }[],
  metadata: { name: string; bytes: number }[],
): void {
  for (const m of metadata)
    if (m.bytes > METADATA_FILE_LIMIT_BYTES)
      throw new PipelineOutputError(
        `/kratix/metadata/${m.name} is ${formatBytes(m.bytes)}, over the ${formatBytes(METADATA_FILE_LIMIT_BYTES)} limit for a metadata file`,
      );
  let total = 0;
  for (const f of output) {
    if (f.bytes > OUTPUT_FILE_LIMIT_BYTES)
      throw new PipelineOutputError(
        `output file ${f.path} is ${formatBytes(f.bytes)}, over the ${formatBytes(OUTPUT_FILE_LIMIT_BYTES)} limit for one output file`,
      );
    total += f.bytes;
  }
  if (total > OUTPUT_TOTAL_LIMIT_BYTES)
    throw new PipelineOutputError(
      `/kratix/output holds ${formatBytes(total)} in ${output.length} files, over the ${formatBytes(OUTPUT_TOTAL_LIMIT_BYTES)} limit for a pipeline's output`,
    );
}

/**
 * Lists regular files under `dir`. Symbolic links are refused, not followed: a link could point
 * at a file of whatever host or container reads the folder.
 */
function listFiles(dir: string, shown: string, prefix = ''): string[] {
  let entries: string[];
  try {
    entries = readdirSync(path.join(dir, prefix)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return entries.flatMap((entry) => {
    const rel = path.join(prefix, entry);
    const st = lstatSync(path.join(dir, rel));
    if (st.isSymbolicLink())
      throw new PipelineOutputError(
        `${shown}/${rel} is a symbolic link; pipelines must write regular files there`,
      );
    if (st.isDirectory()) return listFiles(dir, shown, rel);
    if (!st.isFile()) throw new PipelineOutputError(`${shown}/${rel} is not a regular file`);
    return [rel];
  });
}

/** Reads /kratix/output (recursively) and /kratix/metadata (top level) of a finished pipeline. */
export function readPipelineDirs(outputDir: string, metadataDir?: string): PipelineFiles {
  const outputFiles = listFiles(outputDir, '/kratix/output');
  const metadataFiles = metadataDir
    ? listFiles(metadataDir, '/kratix/metadata').filter((rel) => !rel.includes(path.sep))
    : [];
  // Sizes first: a runaway pipeline's gigabyte file is refused, not read into memory.
  checkPipelineFileSizes(
    outputFiles.map((rel) => ({ path: rel, bytes: lstatSync(path.join(outputDir, rel)).size })),
    metadataFiles.map((rel) => ({ name: rel, bytes: lstatSync(path.join(metadataDir!, rel)).size })),
  );
  const output = outputFiles.map((rel) => ({
    path: rel,
    content: readFileSync(path.join(outputDir, rel), 'utf8'),
  }));
  const metadata: Record<string, string> = {};
  for (const rel of metadataFiles) metadata[rel] = readFileSync(path.join(metadataDir!, rel), 'utf8');
  return { output, metadata };
}

/** Largest compressed result a pipeline Pod may hand back (a Secret holds at most 1 MiB). */

const kib = (n: number) => `${Math.ceil(n / 1024)} KiB`;

/** gzip'd JSON of the files; refuses a result over `limitBytes` with a message naming the limit. */
export function encodeResult(files: PipelineFiles, limitBytes = DEFAULT_RESULT_LIMIT_BYTES): Buffer {
  const packed = gzipSync(Buffer.from(JSON.stringify({ v: 1, ...files }), 'utf8'));
  if (packed.length > limitBytes) {
    const raw = files.output.reduce((n, f) => n + Buffer.byteLength(f.content), 0);
    throw new PipelineOutputError(
      `the pipeline's result is ${kib(packed.length)} compressed (${files.output.length} output files, ` +
        `${kib(raw)} uncompressed), over the ${kib(limitBytes)} limit for results handed back from a ` +
        'pipeline Pod (resultLimitBytes in the kratix ConfigMap)',
    );
  }
  return packed;
}

export function decodeResult(packed: Buffer): PipelineFiles {
  const parsed = JSON.parse(gunzipSync(packed).toString('utf8')) as { v?: number } & PipelineFiles;
  if (parsed.v !== 1 || !Array.isArray(parsed.output) || typeof parsed.metadata !== 'object')
    throw new Error('pipeline result has an unknown format (helper image of another version?)');
  return { output: parsed.output, metadata: parsed.metadata };
}
