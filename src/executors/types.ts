/** One container of a pipeline run, resolved: command line and complete environment. */
export interface ContainerRun {
  name: string;
  image: string;
  /** command + args; empty when the container relies on its image's entrypoint. */
  argv: string[];
  env: Record<string, string>;
}

export interface PipelineRunRequest {
  /** Deterministic per (run, pipeline): a retried activity finds its earlier progress here. */
  runDir: string;
  objectYaml: string;
  containers: ContainerRun[];
  /** kubeconfig content for the pipeline's ServiceAccount. */
  kubeconfig: string;
  /** Whether /kratix/metadata is provided (configure only). */
  withMetadata: boolean;
  signal: AbortSignal;
  onProgress: (p: { container: string; index: number }) => void;
}

export type PipelineRunOutcome =
  | { ok: true; outputDir: string; metadataDir: string }
  | {
      ok: false;
      container: string;
      index: number;
      exitCode: number | null;
      message: string;
      /** Last lines of the container's output: shown in events and status, never sent to Temporal. */
      logTail?: string;
    };

/** Runs the containers of one pipeline in order, sharing /kratix/{input,output,metadata}. */
export interface PipelineExecutor {
  readonly name: string;
  run(req: PipelineRunRequest): Promise<PipelineRunOutcome>;
}
