// Pipeline-run settings: the Pipeline's own fields win over the `kratix` ConfigMap, which wins over
// the defaults. Pure, so the rules are unit-tested in one place.
import { parseDuration } from './duration.js';
import type { KratixPromise, Pipeline } from './types.js';

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
    /** How long one pipeline may run, all attempts together (default 1h). */
    pipelineTimeout?: string;
  };
}

export const TIMEOUT_ANNOTATION = 'kratix-temporal.io/timeout';
export const DEFAULT_PODS_TO_KEEP = 5;
export const DEFAULT_PIPELINE_TIMEOUT_MS = 60 * 60_000;
/** A pipeline activity may run 2 h (startToCloseTimeout): a longer timeout could not be kept. */
export const MAX_PIPELINE_TIMEOUT_MS = 110 * 60_000;
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
  /** How long the pipeline may run, all attempts together. */
  timeoutMs: number;
}

const nonNegativeInt = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined;

/**
 * `promise` supplies `spec.workflows.config.pipelineTimeout` (a Promise-wide override of the
 * ConfigMap's); a Pipeline's annotation `kratix-temporal.io/timeout` overrides both.
 */
export function pipelineSettings(
  config: PlatformWorkflowConfig,
  pipeline: Pipeline,
  promise?: KratixPromise,
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
    timeoutMs: Math.min(
      parseDuration(pipeline.metadata.annotations?.[TIMEOUT_ANNOTATION]) ??
        parseDuration(promise?.spec?.workflows?.config?.pipelineTimeout) ??
        parseDuration(wf.pipelineTimeout) ??
        DEFAULT_PIPELINE_TIMEOUT_MS,
      MAX_PIPELINE_TIMEOUT_MS,
    ),
    resultLimitBytes: Math.min(
      nonNegativeInt(wf.resultLimitBytes) || DEFAULT_RESULT_LIMIT_BYTES,
      MAX_RESULT_LIMIT_BYTES,
    ),
  };
}
