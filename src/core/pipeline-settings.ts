// Pipeline-run settings: the Pipeline's own fields win over the `kratix` ConfigMap, which wins over
// the defaults. Pure, so the rules are unit-tested in one place.
import { parseDuration } from './duration.js';
import type { Pipeline } from './types.js';

/** The pipeline-run part of the `kratix` ConfigMap's config (upstream's names where it has them). */
export interface PlatformWorkflowConfig {
  /** Finished pipeline Pods kept per object and pipeline (upstream: Jobs). */
  numberOfJobsToKeep?: number;
  workflows?: {
    defaultContainerSecurityContext?: Record<string, unknown>;
    defaultResources?: Record<string, unknown>;
    defaultImagePullPolicy?: string;
    jobOptions?: { defaultBackoffLimit?: number };
    /** kubernetes executor: how long a pipeline Pod may wait (image, scheduling) before failing. */
    pipelinePendingTimeout?: string;
    /** kubernetes executor: largest compressed result a pipeline Pod may hand back. */
    resultLimitBytes?: number;
  };
}

export const DEFAULT_PODS_TO_KEEP = 5;
export const DEFAULT_PENDING_TIMEOUT_MS = 5 * 60_000;
export const DEFAULT_RESULT_LIMIT_BYTES = 900 * 1024;
/** A Secret holds at most 1 MiB: a larger limit could never be honoured. */
export const MAX_RESULT_LIMIT_BYTES = 1000 * 1024;

export interface ResolvedPipelineSettings {
  defaultContainerSecurityContext?: Record<string, unknown>;
  defaultResources?: Record<string, unknown>;
  defaultImagePullPolicy?: string;
  backoffLimit: number;
  pendingTimeoutMs: number;
  podsToKeep: number;
  resultLimitBytes: number;
}

const nonNegativeInt = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined;

export function pipelineSettings(
  config: PlatformWorkflowConfig,
  pipeline: Pipeline,
): ResolvedPipelineSettings {
  const wf = config.workflows ?? {};
  const own = (pipeline.spec as { jobOptions?: { backoffLimit?: unknown } }).jobOptions;
  const keep = nonNegativeInt(config.numberOfJobsToKeep);
  return {
    ...(wf.defaultContainerSecurityContext
      ? { defaultContainerSecurityContext: wf.defaultContainerSecurityContext }
      : {}),
    ...(wf.defaultResources ? { defaultResources: wf.defaultResources } : {}),
    ...(wf.defaultImagePullPolicy ? { defaultImagePullPolicy: wf.defaultImagePullPolicy } : {}),
    backoffLimit:
      nonNegativeInt(own?.backoffLimit) ?? nonNegativeInt(wf.jobOptions?.defaultBackoffLimit) ?? 0,
    pendingTimeoutMs: parseDuration(wf.pipelinePendingTimeout) ?? DEFAULT_PENDING_TIMEOUT_MS,
    // Upstream rejects values below 1: the Pod of the latest run is always kept.
    podsToKeep: keep !== undefined && keep >= 1 ? keep : DEFAULT_PODS_TO_KEEP,
    resultLimitBytes: Math.min(
      nonNegativeInt(wf.resultLimitBytes) || DEFAULT_RESULT_LIMIT_BYTES,
      MAX_RESULT_LIMIT_BYTES,
    ),
  };
}
