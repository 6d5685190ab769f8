import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { runCli } from '../support/cli.js';
import { createTestNamespace, testKubeconfigPath } from '../support/cluster.js';
import {
  applyPromise,
  eventsFor,
  promiseFor,
  resources,
  shPipeline,
  uniqueApi,
  waitForPromiseAvailable,
  waitUntil,
  type TestApi,
} from '../support/promises.js';
import { checkout, filesUnder, privateDestination } from '../support/state-store.js';
import type { KratixPromise } from '../../src/core/types.js';
import type { TestReport } from '../../src/cli/test-promise.js';

/** Times differ between any two runs; everything else must be the same. */
function withoutTimes(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutTimes);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => k !== 'lastTransitionTime' && k !== 'lastSuccessfulConfigureWorkflowTime')
        .map(([k, x]) => [k, withoutTimes(x)]),
    );
  return v;
}

/**
 * A Promise exercising what a run does: a promise pipeline and static dependencies, two resource
 * pipelines (status merged across them, nested output, the pipeline's own destination selectors)
 * and a delete pipeline.
 */
function examplePromise(api: TestApi, label: string): KratixPromise {
  return promiseFor(api, {
    destinationSelectors: [{ matchLabels: { dest: label } }],
    dependencies: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `ns-${label}` } }],
    workflows: {
      promise: {
        configure: [
          shPipeline('setup', {
            crds: [
              'cat > /kratix/output/operator.yaml <<EOF',
              'apiVersion: v1',
              'kind: ConfigMap',
              'metadata:',
              '  name: operator-$KRATIX_PROMISE_NAME',
              'EOF',
              'echo "setup: done" > /kratix/metadata/status.yaml',
            ].join('\n'),
          }),
        ],
      },
      resource: {
        configure: [
          shPipeline('render', {
            template: [
              "size=$(sed -n 's/^  size: //p' /kratix/input/object.yaml | head -1)",
              'mkdir -p /kratix/output/app',
              'cat > /kratix/output/app/deployment.yaml <<EOF',
              'apiVersion: apps/v1',
              'kind: Deployment',
              'metadata:',
              '  name: $KRATIX_OBJECT_NAME',
              '  namespace: $KRATIX_OBJECT_NAMESPACE',
              'spec:',
              '  replicas: $size',
              'EOF',
              'cat > /kratix/metadata/status.yaml <<EOF',
              'app:',
              '  replicas: $size',
              '  pipeline: $KRATIX_PIPELINE_NAME',
              'message: rendered',
              'EOF',
            ].join('\n'),
            select: `echo '[{"matchLabels": {"dest": "${label}"}}]' > /kratix/metadata/destination-selectors.yaml`,
          }),
          shPipeline('report', {
            summary: [
              "seen=$(grep -c 'pipeline: render' /kratix/input/object.yaml)",
              'cat > /kratix/output/summary.yaml <<EOF',
              'apiVersion: v1',
              'kind: ConfigMap',
              'metadata:',
              '  name: summary-$KRATIX_OBJECT_NAME',
              'data:',
              '  seen: "$seen"',
              'EOF',
              'cat > /kratix/metadata/status.yaml <<EOF',
              'message: ready ($KRATIX_OBJECT_NAME)',
              'app:',
              '  seenRender: $seen',
              'conditions:',
              '  - type: Ready',
              '    status: "True"',
              '    reason: Rendered',
              '    message: all good',
              'EOF',
            ].join('\n'),
          }),
        ],
        delete: [shPipeline('cleanup', { goodbye: 'echo "bye $KRATIX_OBJECT_NAME"' })],
      },
    },
  });
}

const testDir = () => mkdtempSync(path.join(process.env.KRATIX_TEST_DIR ?? '/tmp', 'cli-test-'));

describe('kratix-temporal test', () => {
  it('gives the same status, files and events as a real run', async () => {
    const api = uniqueApi('local');
    const label = api.promise;
    const bare = await privateDestination(label);
    const ns = await createTestNamespace('local');
    const promise = examplePromise(api, label);
    const dir = testDir();
    writeFileSync(path.join(dir, 'promise.yaml'), stringify(promise));
    const resource = (name: string, size: number) => ({
      apiVersion: `${api.group}/${api.version}`,
      kind: api.kind,
      metadata: { name, namespace: ns },
      spec: { size },
    });
    writeFileSync(
      path.join(dir, 'resources.yaml'),
      [resource('one', 2), resource('two', 3)].map((r) => stringify(r)).join('---\n'),
    );

    // The local test: no cluster, no Temporal; the Destination as the cluster has it.
    const out = path.join(dir, 'out');
    const testRun = runCli([
      'test',
      path.join(dir, 'promise.yaml'),
      path.join(dir, 'resources.yaml'),
      '--destination',
      `dest-${label}:dest=${label}`,
      '--out',
      out,
      '--delete',
      '-o',
      'json',
    ]);

    // The real run: the cluster, Temporal, the worker, a git state store.
    await applyPromise(promise);
    await waitForPromiseAvailable(api.promise);
    const rs = resources(api, ns);
    await rs.create('one', { size: 2 });
    await rs.create('two', { size: 3 });
    const real = { one: await rs.waitFor('one', 'True'), two: await rs.waitFor('two', 'True') };

    const r = await testRun;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as TestReport;
    expect(report.ok).toBe(true);
    expect(report.objects.map((o) => `${o.kind}/${o.name}`)).toEqual([
      `Promise/${api.promise}`,
      `${api.kind}/one`,
      `${api.kind}/two`,
    ]);
    for (const name of ['one', 'two'] as const) {
      const local = report.objects.find((o) => o.name === name)!;
      expect(withoutTimes(local.status)).toEqual(withoutTimes(real[name].status));
      expect(local.events.map((e) => `${e.type} ${e.reason}: ${e.message}`)).toEqual([
        'Normal PipelineStarted: configure pipeline "render" started (1/2)',
        'Normal PipelineSucceeded: Pipeline "render" completed (1/2)',
        'Normal PipelineStarted: configure pipeline "report" started (2/2)',
        'Normal ConfigureWorkflowCompleted: Pipeline "report" completed (2/2); all configure pipelines completed',
      ]);
      expect(local.delete).toMatchObject({ ok: true });
      // The cluster recorded the same Events (its Event for the status write lands just after it).
      const wanted = local.events.map((e) => `${e.type} ${e.reason}: ${e.message}`).sort();
      await waitUntil(`${name}'s Events`, async () => {
        const seen = (await eventsFor(ns, name)).map((e) => `${e.type} ${e.reason}: ${e.message}`).sort();
        return JSON.stringify(seen) === JSON.stringify(wanted) || undefined;
      });
    }

    // Files: the same paths and contents as in the state store.
    const co = checkout(bare);
    const root = `dest-${label}`;
    const inStore = filesUnder(co, root);
    expect(inStore).toEqual(
      expect.arrayContaining([
        `dependencies/${api.promise}/setup/operator.yaml`,
        `dependencies/${api.promise}/static/dependencies.yaml`,
        `resources/${ns}/${api.promise}/one/render/app/deployment.yaml`,
        `resources/${ns}/${api.promise}/two/report/summary.yaml`,
      ]),
    );
    expect(filesUnder(out, root)).toEqual(inStore);
    for (const f of inStore)
      expect(readFileSync(path.join(out, root, f), 'utf8')).toBe(
        readFileSync(path.join(co, root, f), 'utf8'),
      );
  });

  it('runs examples/website as the README shows', async () => {
    const out = path.join(testDir(), 'out');
    const r = await runCli([
      'test',
      'examples/website/promise.yaml',
      'examples/website/resource.yaml',
      '--destination',
      'worker-1:environment=dev',
      '--out',
      out,
      '--delete',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok {3}Promise website$/m);
    expect(r.stdout).toMatch(/^ok {3}Website default\/example$/m);
    expect(r.stdout).toContain('message: Website ready at https://example.com');
    expect(r.stdout).toMatch(
      /worker-1 +worker-1\/resources\/default\/website\/example\/deploy\/website\.yaml/,
    );
    expect(r.stdout).toContain('2 object(s), 0 failed');
    expect(filesUnder(out, 'worker-1')).toEqual([
      'dependencies/website/shared/namespace.yaml',
      'resources/default/website/example/deploy/website.yaml',
    ]);
  });

  it('refuses the kubernetes executor on a cluster without a node', async () => {
    const r = await runCli([
      'test',
      'examples/website/promise.yaml',
      'examples/website/resource.yaml',
      '--executor',
      'kubernetes',
      '--kubeconfig',
      testKubeconfigPath(),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the cluster has no node to run pipeline Pods on');
  });

  it('exits non-zero naming the pipeline, container and output when a pipeline fails', async () => {
    const api = uniqueApi('localfail');
    const dir = testDir();
    writeFileSync(
      path.join(dir, 'promise.yaml'),
      stringify(
        promiseFor(api, {
          workflows: {
            resource: {
              configure: [
                shPipeline('first', { ok: 'echo "message: first" > /kratix/metadata/status.yaml' }),
                shPipeline('second', { broken: 'echo "cannot reach the database"; exit 4' }),
              ],
            },
          },
        }),
      ),
    );
    writeFileSync(
      path.join(dir, 'resource.yaml'),
      stringify({
        apiVersion: `${api.group}/${api.version}`,
        kind: api.kind,
        metadata: { name: 'x' },
        spec: {},
      }),
    );
    const r = await runCli(['test', path.join(dir, 'promise.yaml'), path.join(dir, 'resource.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `FAIL ${api.kind} default/x: Pipeline "second" failed: container "broken" (1/1) exited with code 4`,
    );
    expect(r.stdout).toMatch(
      /Warning\s+PipelineFailed\s+Pipeline "second" failed: .*; output: cannot reach the database/,
    );
    expect(r.stdout).toContain('1 object(s), 1 failed');

    // Output that is not Kubernetes documents fails too, naming the file.
    writeFileSync(
      path.join(dir, 'bad-output.yaml'),
      stringify(
        promiseFor(api, {
          workflows: {
            resource: {
              configure: [shPipeline('emit', { junk: 'echo "just: text" > /kratix/output/x.yaml' })],
            },
          },
        }),
      ),
    );
    const bad = await runCli([
      'test',
      path.join(dir, 'bad-output.yaml'),
      path.join(dir, 'resource.yaml'),
      '-o',
      'json',
    ]);
    expect(bad.code).toBe(1);
    const report = JSON.parse(bad.stdout) as TestReport;
    expect(report.objects[0]!.error).toBe(
      'Pipeline "emit" failed: output file x.yaml: document 1 is not a Kubernetes object (needs apiVersion, kind and metadata.name)',
    );
  });
});
