import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { checkStatusDocument } from '../core/status.js';

export interface OutputFile {
  /** Path relative to /kratix/output (nested folders kept). */
  path: string;
  content: string;
}

export interface CollectedResult {
  files: OutputFile[];
  status?: Record<string, unknown>;
  destinationSelectors?: { matchLabels?: Record<string, string> }[];
}

/** A problem with what a pipeline produced; the message names the file. */
export class PipelineOutputError extends Error {
  override name = 'PipelineOutputError';
}

function listFiles(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((entry) => {
      const rel = path.join(prefix, entry);
      const full = path.join(dir, entry);
      return statSync(full).isDirectory() ? listFiles(full, rel) : [rel];
    });
}

/** Every output file must hold only Kubernetes documents (apiVersion, kind, metadata.name). */
export function validateOutputFile(rel: string, content: string): void {
  const docs = parseAllDocuments(content);
  let i = 0;
  for (const doc of docs) {
    i++;
    if (doc.errors.length > 0) {
      throw new PipelineOutputError(
        `output file ${rel}: invalid YAML in document ${i}: ${doc.errors[0]!.message.split('\n')[0]}`,
      );
    }
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue; // empty document (e.g. trailing ---)
    const o = value as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown } };
    if (typeof o !== 'object' || Array.isArray(o) || !o.apiVersion || !o.kind || !o.metadata?.name) {
      throw new PipelineOutputError(
        `output file ${rel}: document ${i} is not a Kubernetes object (needs apiVersion, kind and metadata.name)`,
      );
    }
  }
}

function readYamlFile(dir: string, names: string[]): { name: string; value: unknown } | undefined {
  for (const name of names) {
    const file = path.join(dir, name);
    if (!existsSync(file)) continue;
    try {
      return { name, value: parse(readFileSync(file, 'utf8')) as unknown };
    } catch (err) {
      throw new PipelineOutputError(
        `/kratix/metadata/${name} is not valid YAML: ${(err as Error).message.split('\n')[0]}`,
      );
    }
  }
  return undefined;
}

/** Reads and validates what a configure pipeline left in /kratix/output and /kratix/metadata. */
export function collectResult(outputDir: string, metadataDir: string): CollectedResult {
  const files = listFiles(outputDir).map((rel) => {
    const content = readFileSync(path.join(outputDir, rel), 'utf8');
    validateOutputFile(rel, content);
    return { path: rel, content };
  });
  const status = readYamlFile(metadataDir, ['status.yaml']);
  if (status) {
    const problem = checkStatusDocument(status.value);
    if (problem) throw new PipelineOutputError(`/kratix/metadata/status.yaml ${problem}`);
  }
  const selectors = readYamlFile(metadataDir, [
    'destination-selectors.yaml',
    'scheduling.yaml',
    'cluster-selectors.yaml',
  ]);
  if (selectors && selectors.value != null && !Array.isArray(selectors.value)) {
    throw new PipelineOutputError(`/kratix/metadata/${selectors.name} must be a list of {matchLabels: ...}`);
  }
  return {
    files,
    status: (status?.value ?? undefined) as Record<string, unknown> | undefined,
    destinationSelectors: (selectors?.value ?? undefined) as CollectedResult['destinationSelectors'],
  };
}
