import type { Kube } from '../src/kube/client.js';
import type { PipelineExecutor } from '../src/executors/types.js';
import type { StateStoreWriterFactory } from '../src/statestore/writers.js';
import type { TemporalConnectionConfig } from '../src/temporal/connection.js';

export interface ActivityDeps {
  kube: Kube;
  executor: PipelineExecutor;
  /** Where pipeline run directories live (deterministic per run, so retries resume). */
  workDir: string;
  /** The writer of each Destination's state store (git or bucket, from the store's kind). */
  stateStores: StateStoreWriterFactory;
  /** How to reach Temporal, for activities that signal other workflows (Promise updates). */
  temporal: TemporalConnectionConfig;
}
