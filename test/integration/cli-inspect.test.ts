import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { runCli } from '../support/cli.js';
import { createTestNamespace, testKubeConfig, testKubeconfigPath } from '../support/cluster.js';
import {
  applyPromise,
  promiseFor,
  resources,
  shPipeline,
  uniqueApi,
  waitForPromiseAvailable,
  waitUntil,
} from '../support/promises.js';
import { onSteadyWorker, sharedWorkerPid } from '../support/shared-worker.js';
import { privateDestination } from '../support/state-store.js';
import { testTemporalAddress } from '../support/temporal.js';
import type { RunInfo } from '../../src/cli/run-history.js';

const UI = 'http://ui.example:8233';
const kubeCore = () => testKubeConfig().makeApiClient(k8s.CoreV1Api);

/** `kratix-temporal <command> <target>` against the test cluster and Temporal server. */
const cliOnce = (args: string[]) =>
  runCli([
    ...args,
    '--kubeconfig',
    testKubeconfigPath(),
    '--temporal-address',
    testTemporalAddress(),
    '--web-ui',
    UI,
  ]);
/** `cliOnce`, asked again if the shared worker (which answers the state queries) was replaced. */
const cli = (args: string[]) => onSteadyWorker(() => cliOnce(args));

/**
 * `retry` once (asking again would request another run); its listing before the request warns
 * only if the shared worker was replaced meanwhile.
 */
async function retry(args: string[]) {
  const pid = sharedWorkerPid();
  const r = await cliOnce(['retry', ...args, '-o', 'json']);
  if (sharedWorkerPid() === pid) expect(r.stderr).toBe('');
  // Replaced before or after the listing: warned or not.
  else expect(r.stderr).toMatch(/^(warning: cannot read the configure runs of .*\n)*$/);
  return JSON.parse(r.stdout) as { requested: string; started: RunInfo | null };
}

describe('kratix-temporal runs, retry and logs', () => {
  it('shows succeeded and failed runs, retries one and prints container output', async () => {
    const api = uniqueApi('inspect');
    const label = api.promise;
    await privateDestination(label);
    await applyPromise(
      promiseFor(api, {
        destinationSelectors: [{ matchLabels: { dest: label } }],
        workflows: {
          resource: {
            configure: [
              shPipeline('render', {
                write: `echo "hello from $KRATIX_OBJECT_NAME"
echo "message: rendered" > /kratix/metadata/status.yaml`,
              }),
              shPipeline('check', {
                verify: `if grep -q explode /kratix/input/object.yaml; then echo "boom: spec is broken"; exit 3; fi
echo checked`,
              }),
            ],
          },
        },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('inspect');
    const rs = resources(api, ns);
    await rs.create('good', { mode: 'fine' });
    await rs.create('bad', { mode: 'explode' });
    await rs.waitFor('good', 'True');
    await rs.waitFor('bad', 'False', 'PipelineFailed');

    const kind = api.kind.toLowerCase();
    const good = await cli(['runs', `${kind}/good`, '-n', ns]);
    expect(good.stderr).toBe('');
    expect(good.code).toBe(0);
    expect(good.stdout).toContain(`${api.kind} ${ns}/good`);
    expect(good.stdout).toMatch(
      /RUN\s+ACTION\s+REASON\s+OUTCOME\s+STARTED \(UTC\)\s+DURATION\s+PIPELINE\s+CONTAINER/,
    );
    expect(good.stdout).toMatch(
      /\n1\s+configure\s+created\s+succeeded\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+\d+(ms|s)/,
    );
    expect(good.stdout).toContain(`${UI}/namespaces/default/workflows/`);

    // The plural with its group works like kubectl's, and the output is JSON for scripts.
    const bad = await cli(['runs', `${api.plural}.${api.group}/bad`, '-n', ns, '-o', 'json']);
    expect(bad.code).toBe(0);
    const runs = JSON.parse(bad.stdout) as RunInfo[];
    expect(runs[0]).toMatchObject({
      run: '1',
      action: 'configure',
      reason: 'created',
      outcome: 'failed',
      pipeline: 'check',
      container: 'verify',
      message: 'Pipeline "check" failed: container "verify" (1/1) exited with code 3',
      webUrl: expect.stringContaining(encodeURIComponent(`/${ns}/bad/`)),
    });
    expect(runs[0]!.durationMs).toBeGreaterThan(0);
    const badText = await cli(['runs', `${kind}/bad`, '-n', ns]);
    expect(badText.stdout).toMatch(/\n1\s+configure\s+created\s+failed\s+.*\s+check\s+verify\n/);
    expect(badText.stdout).toContain(
      'run 1 (failed):\n  Pipeline "check" failed: container "verify" (1/1) exited with code 3',
    );

    // logs: the failed run's folder is still there; the succeeded run's logs were kept when it ended.
    const workDir = path.join(process.env.KRATIX_TEST_DIR!, 'runs');
    const badLogs = await cli([
      'logs',
      `${kind}/bad`,
      '-n',
      ns,
      '--run',
      '1',
      '--pipeline',
      'check',
      '--work-dir',
      workDir,
    ]);
    expect(badLogs.stderr).toBe('');
    expect(badLogs.stdout).toContain('==> run 1 · pipeline check · container verify');
    expect(badLogs.stdout).toContain('boom: spec is broken');
    const goodLogs = await cli([
      'logs',
      `${kind}/good`,
      '-n',
      ns,
      '--container',
      'write',
      '--work-dir',
      workDir,
    ]);
    expect(goodLogs.stdout).toContain('hello from good');
    expect(goodLogs.stdout).not.toContain('checked');

    // retry: a new run, triggered manually, and the label is gone once it started.
    const r = await retry([`${kind}/good`, '-n', ns]);
    expect(r).toMatchObject({ requested: 'configure run', started: { run: '2', reason: 'manual' } });
    await waitUntil('run 2 succeeded', async () => {
      const list = JSON.parse(
        (await cli(['runs', `${kind}/good`, '-n', ns, '-o', 'json'])).stdout,
      ) as RunInfo[];
      return list.find((x) => x.run === '2' && x.outcome === 'succeeded');
    });
    const after = await rs.get('good');
    expect(after.metadata.labels?.['kratix.io/manual-reconciliation']).toBeUndefined();

    // With the kubernetes executor the run's Pods hold the output: found by the run's annotation.
    // (No node here, so the Pod never runs and its log cannot be read: the header shows it was found.)
    const run2 = (
      JSON.parse((await cli(['runs', `${kind}/good`, '-n', ns, '-o', 'json'])).stdout) as RunInfo[]
    ).find((x) => x.run === '2')!;
    await kubeCore().createNamespacedPod({
      namespace: ns,
      body: {
        metadata: {
          name: 'kratix-pipeline-pod',
          labels: {
            'kratix.io/promise-name': api.promise,
            'kratix.io/workflow-type': 'resource',
            'kratix.io/pipeline-name': 'render',
          },
          annotations: { 'kratix-temporal.io/workflow-id': run2.workflowId },
        },
        spec: {
          initContainers: [
            { name: 'kratix-input', image: 'helper' },
            { name: 'write', image: 'busybox' },
          ],
          containers: [{ name: 'kratix-collect', image: 'helper' }],
        },
      },
    });
    const podLogs = await cli(['logs', `${kind}/good`, '-n', ns, '--run', '2']);
    expect(podLogs.stdout).toContain(
      `==> run 2 · pipeline render · container write (pod ${ns}/kratix-pipeline-pod) <==`,
    );
    expect(podLogs.stdout).not.toContain('kratix-input');

    // A kind nobody provides is a clear error.
    const unknown = await cli(['runs', 'nosuchkind/x', '-n', ns]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no Promise provides the kind "nosuchkind"');
  });

  it('retries a failed delete and shows both attempts', async () => {
    const api = uniqueApi('inspectdel');
    await applyPromise(
      promiseFor(api, {
        workflows: {
          resource: {
            configure: [shPipeline('noop', ['true'])],
            // Fails until ConfigMap "allow-delete" exists.
            delete: [
              shPipeline(
                'guarded',
                {
                  check:
                    'kubectl get configmap allow-delete -n "$KRATIX_OBJECT_NAMESPACE" >/dev/null 2>&1 || exit 4',
                },
                { rbac: { permissions: [{ apiGroups: [''], verbs: ['get'], resources: ['configmaps'] }] } },
              ),
            ],
          },
        },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('inspectdel');
    const rs = resources(api, ns);
    await rs.create('keep', {});
    await rs.waitFor('keep', 'True');
    await rs.delete('keep');
    const target = `${api.kind.toLowerCase()}/keep`;
    const failed = await waitUntil('the delete failed', async () => {
      const list = JSON.parse((await cli(['runs', target, '-n', ns, '-o', 'json'])).stdout) as RunInfo[];
      return list.find((x) => x.action === 'delete' && x.outcome === 'failed');
    });
    expect(failed).toMatchObject({
      run: 'delete',
      reason: 'deleted',
      pipeline: 'guarded',
      container: 'check',
      message: 'Pipeline "guarded" failed: container "check" (1/1) exited with code 4',
    });

    await kubeCore().createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'allow-delete' } },
    });
    expect(await retry([target, '-n', ns])).toMatchObject({
      requested: 'delete',
      started: { run: 'delete 2', action: 'delete', reason: 'manual' },
    });
    await rs.waitGone('keep');
    // Gone from the cluster: every incarnation's runs are listed.
    const after = await cli(['runs', target, '-n', ns]);
    expect(after.stdout).toContain('(not found in the cluster: runs of every incarnation)');
    expect(after.stdout).toMatch(/\ndelete 2\s+delete\s+manual\s+succeeded/);
  });
});
