import type { PipelineSubject } from '../core/pipeline-factory.js';
import type { ResolvedPipelineSettings } from '../core/pipeline-settings.js';
import type { Pipeline } from '../core/types.js';
import type { PipelineFiles } from './pipeline-files.js';

/** Pipeline-run settings from the Pipeline and the `kratix` ConfigMap, resolved per run. */
export type PipelineRunSettings = ResolvedPipelineSettings;

export interface PipelineRunRequest {
  /** Unique and deterministic per (run, pipeline): a retried activity finds its earlier progress. */
  runKey: string;
  /** The configure/delete run's workflow id (annotated on Pods, for the Web UI and `kubectl`). */
  workflowId: string;
  subject: PipelineSubject;
  pipeline: Pipeline;
  /** Where the pipeline runs and the ServiceAccount it runs as (already applied with its RBAC). */
  namespace: string;
  serviceAccount: string;
  /**
   * Changes when the ServiceAccount may have been re-created (the Promise's uid): credentials an
   * executor cached for the ServiceAccount are reused only under the same key.
   */
  identityKey?: string;
  /** KRATIX_* variables (DESIGN §3). Container env/envFrom come from the Pipeline. */
  baseEnv: Record<string, string>;
  /**
   * KRATIX_TRACE_PARENT (and KRATIX_TRACE_STATE) of the pipeline's span, for every container, as
   * upstream Kratix passes them; empty when tracing is off.
   */
  traceEnv?: Record<string, string>;
  objectYaml: string;
  /** Whether /kratix/metadata is provided (configure only). */
  withMetadata: boolean;
  settings: PipelineRunSettings;
  /** Local executor: the run's folder (deterministic, so a retry on the same host resumes). */
  runDir: string;
  signal: AbortSignal;
  /**
   * After `signal` fired: whether the workflow asked to stop the run (delete during configure), as
   * opposed to this attempt being abandoned (timed out, worker shutting down) while a retry of it
   * may already be taking over. Only the first may stop what a retry could re-attach to.
   */
  cancelRequested: () => boolean;
  onProgress: (p: { container: string; index: number }) => void;
  /** The run cannot go on by itself yet (image pull, scheduling, missing Secret): tell the user. */
  onPending: (p: { reason: string; message: string }) => Promise<void>;
}

export type PipelineRunOutcome =
  | { ok: true; files: PipelineFiles }
  | {
      ok: false;
      container: string;
      index: number;
      exitCode: number | null;
      message: string;
      /** Last lines of the container's output: shown in events and status, never sent to Temporal. */
      logTail?: string;
    };

/**
 * Runs the containers of one pipeline in order, sharing /kratix/{input,output,metadata}, and
 * returns what they left in /kratix/output and /kratix/metadata.
 */
export interface PipelineExecutor {
  readonly name: string;
  /**
   * Set for executors whose runs usually take well under a second (host processes): a pipeline
   * then starts as a local activity inside its lifecycle's workflow task, and one still running
   * after this many milliseconds is handed, still running, to a regular activity (README,
   * "Pipelines inside the workflow task"). Unset (Pods): always a regular activity.
   */
  readonly handOffAfterMs?: number;
  run(req: PipelineRunRequest): Promise<PipelineRunOutcome>;
}
