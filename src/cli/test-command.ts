// `kratix-temporal test <promise.yaml> <resource.yaml>...`: registered on the CLI program.
import { Option, type Command } from 'commander';
import { resolveBinary } from '../infra/binaries.js';
import { LocalExecutor } from '../executors/local.js';
import { formatTestReport } from './test-output.js';
import { testPromise } from './test-promise.js';

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
      new Option('--executor <name>', 'how pipelines run: local (host processes in a sandbox, no images)')
        .choices(['local'])
        .default('local'),
    )
    .addOption(new Option('-o, --output <format>', 'report format').choices(['text', 'json']).default('text'))
    .action(
      async (
        promiseFile: string,
        resourceFiles: string[],
        o: { delete: boolean; destination: string[]; out?: string; output: 'text' | 'json' },
      ) => {
        let kubectl: string | undefined;
        try {
          kubectl = resolveBinary('kubectl');
        } catch {
          kubectl = undefined;
        }
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
            executor: new LocalExecutor(undefined, { kubectl }),
            signal: stop.signal,
          });
          process.stdout.write(
            o.output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatTestReport(report),
          );
          if (!report.ok) process.exitCode = 1;
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      },
    );
}
