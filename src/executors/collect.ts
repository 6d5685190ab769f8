import { parseAllDocuments, parse } from 'yaml';
import { checkStatusDocument } from '../core/status.js';
import {
  checkPipelineFileSizes,
  PipelineOutputError,
  type OutputFile,
  type PipelineFiles,
} from './pipeline-files.js';

export { PipelineOutputError, type OutputFile } from './pipeline-files.js';

export interface CollectedResult {
  files: OutputFile[];
  status?: Record<string, unknown>;
  destinationSelectors?: { matchLabels?: Record<string, string> }[];
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

function readYamlFile(
  metadata: Record<string, string>,
  names: string[],
  options: { strings?: boolean } = {},
): { name: string; value: unknown } | undefined {
  for (const name of names) {
    const text = metadata[name];
    if (text === undefined) continue;
    try {
      return { name, value: parse(text, options.strings ? { schema: 'failsafe' } : {}) as unknown };
    } catch (err) {
      throw new PipelineOutputError(
        `/kratix/metadata/${name} is not valid YAML: ${(err as Error).message.split('\n')[0]}`,
      );
    }
  }
  return undefined;
}

/** Validates what a configure pipeline left in /kratix/output and /kratix/metadata. */
export function collectResult(found: PipelineFiles): CollectedResult {
  checkPipelineFileSizes(
    found.output.map((f) => ({ path: f.path, bytes: Buffer.byteLength(f.content) })),
    Object.entries(found.metadata).map(([name, text]) => ({ name, bytes: Buffer.byteLength(text) })),
  );
  for (const f of found.output) validateOutputFile(f.path, f.content);
  const files = found.output;
  const status = readYamlFile(found.metadata, ['status.yaml']);
  if (status) {
    const problem = checkStatusDocument(status.value);
    if (problem) throw new PipelineOutputError(`/kratix/metadata/status.yaml ${problem}`);
  }
  // Every value in it is a string (labels, directories): `tier: 285e89` is "285e89" as upstream's
  // Go types read it, not the number 2.85e+91 (YAML's core schema).
  const selectors = readYamlFile(
    found.metadata,
    ['destination-selectors.yaml', 'scheduling.yaml', 'cluster-selectors.yaml'],
    { strings: true },
  );
  if (selectors && selectors.value != null && !Array.isArray(selectors.value)) {
    throw new PipelineOutputError(`/kratix/metadata/${selectors.name} must be a list of {matchLabels: ...}`);
  }
  return {
    files,
    status: (status?.value ?? undefined) as Record<string, unknown> | undefined,
    destinationSelectors: (selectors?.value ?? undefined) as CollectedResult['destinationSelectors'],
  };
}

/** What a configure pipeline left, validated, with `status.kratix` refused (it is managed by the run). */
export function collectConfigureResult(found: PipelineFiles): CollectedResult {
  const result = collectResult(found);
  if (result.status && 'kratix' in result.status)
    throw new PipelineOutputError(
      "/kratix/metadata/status.yaml: 'kratix' is a managed status field and cannot be set by pipelines",
    );
  return result;
}
