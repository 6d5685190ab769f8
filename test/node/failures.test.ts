import { readFileSync } from 'node:fs';
import { condition, eventsFor, isGone, shPipeline, waitUntil } from '../support/promises.js';
import type { Pipeline } from '../../src/core/types.js';
import { core, pipelinePods, resourceWith } from './support.js';

const image = (p: Pipeline, img: string, pullPolicy?: 'Never' | 'IfNotPresent') => {
  p.spec.containers[0]!.image = img;
  if (pullPolicy) p.spec.containers[0]!.imagePullPolicy = pullPolicy;
  return p;
};

// One file, so its tests run one after another: the worker kill (last) cannot slow the timed ones.
describe('kubernetes executor: failures are clear and never hang', () => {
  it('reports an image that cannot be pulled within seconds, then fails at the pending timeout', async () => {
    const { ns, rs } = await resourceWith('pull', [
      image(shPipeline('fetch', ['true']), 'localhost/kratix-temporal/missing:1'),
    ]);
    const pending = await rs.waitFor('r', 'False', 'PipelinePending', 60_000);
    expect(pending.status?.message).toMatch(
      /^Pipeline "fetch" is waiting: container "step-0" \(localhost\/kratix-temporal\/missing:1\): (ErrImagePull|ImagePullBackOff)/,
    );
    const warning = (await eventsFor(ns, 'r')).find((e) => e.reason === 'PipelinePending');
    expect(warning?.type).toBe('Warning');
    // The node environment sets pipelinePendingTimeout: 20s in the kratix ConfigMap.
    const failed = await rs.waitFor('r', 'False', 'PipelineFailed', 90_000);
    expect(condition(failed, 'PipelineCompleted')?.message).toMatch(
      /still waiting after \d+ s, the pending timeout; Pod deleted/,
    );
  });

  it('fails at once on an image that may never be pulled', async () => {
    const { rs } = await resourceWith('never', [
      image(shPipeline('fetch', ['true']), 'localhost/kratix-temporal/absent:1', 'Never'),
    ]);
    const failed = await rs.waitFor('r', 'False', 'PipelineFailed', 60_000);
    expect(failed.status?.message).toMatch(
      /^Pipeline "fetch" failed: container "step-0" \(localhost\/kratix-temporal\/absent:1\): ErrImageNeverPull/,
    );
  });

  it('names a missing Secret (CreateContainerConfigError) while the Pod waits', async () => {
    const p = shPipeline('needs-secret', ['echo "$TOKEN" > /dev/null']);
    p.spec.containers[0]!.env = [
      { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'not-there', key: 'token' } } },
    ];
    const { rs } = await resourceWith('nosecret', [p]);
    const pending = await rs.waitFor('r', 'False', 'PipelinePending', 60_000);
    expect(pending.status?.message).toMatch(/CreateContainerConfigError: secret "not-there" not found/);
  });

  it('names the failed container and exit code, with the tail of its log in the Warning event', async () => {
    const { api, ns, rs } = await resourceWith('boom', [
      shPipeline('deploy', {
        ok: 'echo fine',
        fail: 'echo "connecting..."; echo "boom: database unreachable" >&2; exit 3',
      }),
    ]);
    const failed = await rs.waitFor('r', 'False', 'PipelineFailed', 60_000);
    expect(condition(failed, 'PipelineCompleted')?.message).toBe(
      'Pipeline "deploy" failed: container "fail" (2/2) exited with code 3',
    );
    const event = (await eventsFor(ns, 'r')).find((e) => e.reason === 'PipelineFailed');
    expect(event?.type).toBe('Warning');
    expect(event?.message).toContain('boom: database unreachable');
    // The failed Pod is kept (retention) for `kubectl logs`.
    const [pod] = await pipelinePods(ns, api.promise);
    expect(pod?.status?.phase).toBe('Failed');
  });

  it('refuses a result larger than the limits, naming the file or the limit', async () => {
    // One file over the per-file limit.
    const one = await resourceWith('big', [
      shPipeline('render', ['head -c 1500000 /dev/urandom | base64 > /kratix/output/big.yaml']),
    ]);
    const tooBig = await one.rs.waitFor('r', 'False', 'PipelineFailed', 60_000);
    expect(tooBig.status?.message).toMatch(
      /kratix-collect: output file big.yaml is [\d.]+ MiB, over the 1 MiB limit for one output file/,
    );
    // Files each within limits whose result is over what a Pod may hand back.
    const three = await resourceWith('bigger', [
      shPipeline('render', [
        'for f in a b c; do head -c 520000 /dev/urandom | base64 > /kratix/output/$f.yaml; done',
      ]),
    ]);
    const failed = await three.rs.waitFor('r', 'False', 'PipelineFailed', 60_000);
    expect(failed.status?.message).toMatch(
      /kratix-collect: the pipeline's result is \d+ KiB compressed \(3 output files, \d+ KiB uncompressed\), over the 900 KiB limit/,
    );
  });

  it('deletes the running Pod within seconds when the Resource is deleted mid-pipeline', async () => {
    const { api, ns, rs } = await resourceWith('long', [shPipeline('forever', ['sleep 600'])]);
    const pod = await waitUntil(
      'pipeline Pod running',
      async () => {
        const [p] = await pipelinePods(ns, api.promise);
        return p?.status?.initContainerStatuses?.find((c) => c.name === 'step-0')?.state?.running
          ? p
          : undefined;
      },
      60_000,
    );
    const t0 = Date.now();
    await rs.delete('r');
    await waitUntil(
      'pipeline Pod gone',
      () => isGone(() => core().readNamespacedPod({ name: pod.metadata!.name!, namespace: ns })),
      30_000,
    );
    const seconds = (Date.now() - t0) / 1000;
    expect(seconds).toBeLessThan(20);
    await rs.waitGone('r', 60_000);
  });

  it('re-attaches to the running Pod after the worker is killed: no second Pod, the run completes', async () => {
    const { api, ns, rs } = await resourceWith('reattach', [
      shPipeline('slow', ['sleep 10; echo "slow: done" > /kratix/metadata/status.yaml']),
    ]);
    await waitUntil(
      'pipeline container running',
      async () => {
        const [p] = await pipelinePods(ns, api.promise);
        return (
          p?.status?.initContainerStatuses?.find((c) => c.name === 'step-0')?.state?.running !== undefined
        );
      },
      60_000,
    );

    const pidFile = process.env.KRATIX_TEST_WORKER_PID_FILE!;
    const pid = Number(readFileSync(pidFile, 'utf8'));
    process.kill(pid, 'SIGKILL'); // the supervisor starts a new worker, as a Deployment would

    const done = await rs.waitFor('r', 'True', undefined, 120_000);
    expect(done.status?.slow).toBe('done');
    const pods = await pipelinePods(ns, api.promise);
    expect(pods.map((p) => p.status?.phase)).toEqual(['Succeeded']);
    expect(pods[0]!.status?.initContainerStatuses?.find((c) => c.name === 'step-0')?.restartCount).toBe(0);
    expect(Number(readFileSync(pidFile, 'utf8'))).not.toBe(pid);
  });
});
