// `kratix-temporal test <promise.yaml> <resource.yaml>...`: registered on the CLI program.
import { Option, type Command } from 'commander';
import { resolveBinary } from '../infra/binaries.js';
import { LocalExecutor } from '../executors/local.js';
import { formatTestReport } from './test-output.js';
import { testPromise, type TestOptions } from './test-promise.js';
import { pipelineIdentity } from '../core/pipeline-factory.js';
import { KubernetesExecutor } from '../executors/kubernetes.js';
import { Kube } from '../kube/client.js';
import { applyPipelineIdentity } from '../kube/identity.js';
import { PIPELINE_HELPER_IMAGE } from '../pipeline-helper/image.js';

export function registerTestCommand(program: Command): void {
  program
    .command('test <promise> <resources...>')
    .description(
      "run a Promise's configure pipelines (promise, then resource) against example Resources with no cluster and no Temporal server; exit code 1 if any fails",
    )
    .option('--delete', 'then run the delete pipelines too', false)
    .option(
      '--destination <[name:]key=value,...>',
      'a Destination with these labels (repeat for more); default: one named "default" with the labels the Promise selects',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option(
      '--out <dir>',
      'write output files here, laid out as in a state store (default: a temporary folder)',
    )
    .addOption(
      new Option(
        '--executor <name>',
        'how pipelines run: local (host processes in a sandbox, no images, no cluster) or kubernetes (Pods from their images on the cluster of --kubeconfig, which needs a node, e.g. `dev --node`)',
      )
        .choices(['local', 'kubernetes'])
        .default('local'),
    )
    .option(
      '--kubeconfig <path>',
      'kubernetes executor: the cluster to run pipeline Pods on (default: $KUBECONFIG)',
    )
    .option(
      '--helper-image <image>',
      `kubernetes executor: image of the Pods' input/collect containers (default ${PIPELINE_HELPER_IMAGE}, which \`dev --node\` loads)`,
    )
    .addOption(new Option('-o, --output <format>', 'report format').choices(['text', 'json']).default('text'))
    .action(
      async (
        promiseFile: string,
        resourceFiles: string[],
        o: {
          delete: boolean;
          destination: string[];
          out?: string;
          output: 'text' | 'json';
          executor: 'local' | 'kubernetes';
          kubeconfig?: string;
          helperImage?: string;
        },
      ) => {
        const run = o.executor === 'kubernetes' ? await kubernetesRun(o) : localRun();
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        try {
          const report = await testPromise({
            promiseFile,
            resourceFiles,
            delete: o.delete,
            destinations: o.destination,
            out: o.out,
            executor: run.executor,
            prepare: run.prepare,
            signal: stop.signal,
          });
          process.stdout.write(
            o.output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatTestReport(report),
          );
          if (!report.ok) process.exitCode = 1;
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          run.close();
        }
      },
    );
}

type Run = Pick<TestOptions, 'executor' | 'prepare'> & { close: () => void };

/** No cluster: host processes, literal env only. */
function localRun(): Run {
  let kubectl: string | undefined;
  try {
    kubectl = resolveBinary('kubectl');
  } catch {
    kubectl = undefined;
  }
  return { executor: new LocalExecutor(undefined, { kubectl }), close: () => undefined };
}

/**
 * Pipelines as Pods on a cluster with a node, as a worker runs them: each pipeline's ServiceAccount
 * and RBAC are applied first. The objects themselves stay out of the cluster (a Pod gets its
 * object.yaml from its run Secret).
 */
async function kubernetesRun(o: { kubeconfig?: string; helperImage?: string }): Promise<Run> {
  const kubeconfig = o.kubeconfig ?? process.env.KUBECONFIG;
  if (!kubeconfig)
    throw new Error('--executor kubernetes needs --kubeconfig (or KUBECONFIG) of a cluster with a node');
  const kube = Kube.fromFile(kubeconfig);
  const nodes = await kube.core.listNode();
  if (nodes.items.length === 0) {
    kube.close();
    throw new Error(
      'the cluster has no node to run pipeline Pods on (start one with `dev --node`), or use --executor local',
    );
  }
  return {
    executor: new KubernetesExecutor(kube, { helperImage: o.helperImage ?? PIPELINE_HELPER_IMAGE }),
    prepare: async (subject, pipeline) => {
      await applyPipelineIdentity(kube, pipelineIdentity(subject, pipeline));
    },
    close: () => kube.close(),
  };
}
