import type { Kube } from '../src/kube/client.js';
import type { PipelineExecutor } from '../src/executors/types.js';
import type { GitWriter } from '../src/statestore/git.js';
import type { TemporalConnectionConfig } from '../src/temporal/connection.js';

export interface ActivityDeps {
  kube: Kube;
  executor: PipelineExecutor;
  /** Where pipeline run directories live (deterministic per run, so retries resume). */
  workDir: string;
  /** Writes pipeline output to GitStateStores (one clone cache per repository). */
  git: GitWriter;
  /** How to reach Temporal, for activities that signal other workflows (Promise updates). */
  temporal: TemporalConnectionConfig;
}
