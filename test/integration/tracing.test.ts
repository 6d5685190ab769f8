import type { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { workerTracing } from '../../src/temporal/tracing.js';
import { workflowsPath } from '../../src/worker.js';
import { createTestNamespace } from '../support/cluster.js';
import { localActivityTypes, testTemporalClient } from '../support/temporal.js';
import { receivedSpans, type ReceivedSpan } from '../support/otel-collector.js';
import {
  applyPromise,
  promiseFor,
  resources,
  shPipeline,
  uniqueApi,
  waitForPromiseAvailable,
  waitUntil,
} from '../support/promises.js';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;

/** The spans of one trace, once every span named in `names` has arrived. */
function traceWith(traceId: string, names: RegExp[]): ReceivedSpan[] | undefined {
  const spans = receivedSpans(process.env.KRATIX_TEST_SPANS_FILE!).filter((s) => s.traceId === traceId);
  return names.every((n) => spans.some((s) => n.test(s.name))) ? spans : undefined;
}

describe('OpenTelemetry tracing', () => {
  it('one trace from the controller watch event through workflows, activities, the pipeline and the git commit', async () => {
    const api = uniqueApi('traced');
    await applyPromise(
      promiseFor(api, {
        workflows: {
          resource: {
            configure: [
              shPipeline('trace', [
                // What the pipeline saw, reported back through its status.
                `printf 'traceParent: "%s"\\n' "$KRATIX_TRACE_PARENT" > /kratix/metadata/status.yaml`,
                `printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: traced\\n' > /kratix/output/cm.yaml`,
              ]),
            ],
          },
        },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('traced');
    const rs = resources(api, ns);
    await rs.create('one', { size: 'small' });
    const done = await rs.waitFor('one', 'True');

    // Every container got KRATIX_TRACE_PARENT, upstream's W3C traceparent.
    const traceParent = String(done.status?.traceParent ?? '');
    expect(traceParent).toMatch(TRACEPARENT);
    const [, traceId, pipelineSpanId] = TRACEPARENT.exec(traceParent)!;

    const spans = await waitUntil(
      'the spans of the run in the OTLP receiver',
      () =>
        traceWith(traceId!, [
          new RegExp(`^controller: ${api.kind} changed$`),
          /^SignalWithStartWorkflow:resourceLifecycle$/,
          /^StartActivity:runPipeline$/,
          /^RunActivity:runPipeline$/,
          /^pipeline trace$/,
          /^statestore write$/,
          /^git commit$/,
          /^git push$/,
        ]),
      60_000,
    );
    const byName = (name: string) => spans.find((s) => s.name === name)!;

    // The root is the controller's span for this Resource's watch event, in the controller's service.
    const root = byName(`controller: ${api.kind} changed`);
    expect(root.parentSpanId).toBe('');
    expect(root.service).toBe('kratix-temporal-controller');
    expect(root.attributes).toMatchObject({
      'kratix.watch.event': 'add',
      'k8s.object.kind': api.kind,
      'k8s.object.name': 'one',
      'k8s.namespace.name': ns,
    });
    // One tree: every other span's parent is in the trace, so nothing hangs off another trace.
    const ids = new Set(spans.map((s) => s.spanId));
    for (const s of spans)
      if (s !== root)
        expect({ span: s.name, parentFound: ids.has(s.parentSpanId) }).toEqual({
          span: s.name,
          parentFound: true,
        });

    // The chain from the watch event to the commit.
    const parentOf = (s: ReceivedSpan) => spans.find((p) => p.spanId === s.parentSpanId);
    const ancestors = (s: ReceivedSpan): string[] => {
      const p = parentOf(s);
      return p ? [p.name, ...ancestors(p)] : [];
    };
    const pipeline = byName('pipeline trace');
    expect(pipeline.spanId).toBe(pipelineSpanId); // the span the containers were handed
    expect(pipeline.service).toBe('kratix-temporal-worker');
    expect(pipeline.attributes).toMatchObject({ 'kratix.promise': api.promise, 'kratix.pipeline': 'trace' });
    expect(ancestors(byName('git commit'))).toEqual(
      expect.arrayContaining([
        'statestore write',
        'RunActivity:runPipeline',
        'StartActivity:runPipeline', // scheduled by the lifecycle: the run runs inside it
        'SignalWithStartWorkflow:resourceLifecycle',
        `controller: ${api.kind} changed`,
      ]),
    );
    expect(ancestors(pipeline)).toContain('RunActivity:runPipeline');
    expect(parentOf(byName('git push'))?.name).toBe('statestore write');

    // A spec change is a new watch event: its run gets a trace of its own, rooted in the controller.
    await rs.patch('one', { spec: { size: 'large' } });
    const again = await waitUntil('the second run', async () => {
      const o = await rs.waitFor('one', 'True');
      return o.status?.traceParent !== traceParent ? o : undefined;
    });
    const [, secondTrace] = TRACEPARENT.exec(String(again.status?.traceParent))!;
    expect(secondTrace).not.toBe(traceId);
    const second = await waitUntil(
      'the spans of the second run',
      () =>
        traceWith(secondTrace!, [
          new RegExp(`^controller: ${api.kind} changed$`),
          /^RunActivity:runPipeline$/,
        ]),
      60_000,
    );
    expect(second.find((s) => s.name === `controller: ${api.kind} changed`)?.attributes).toMatchObject({
      'kratix.watch.event': 'update',
    });

    // Traced histories (trace headers, SDK flags) replay with the workers' interceptors.
    const { client, close } = await testTemporalClient();
    try {
      const query = `KratixPromise = "${api.promise}" AND KratixResourceNamespace = "${ns}"`;
      // The lifecycle, both configure runs inside it (visibility may lag a moment).
      const all = await waitUntil('the histories', async () => {
        const found = [];
        for await (const h of client.workflow.list({ query }).intoHistories()) found.push(h);
        return found.length >= 1 ? found : undefined;
      });
      const events = (all[0]!.history as temporal.api.history.v1.IHistory).events ?? [];
      // Each run's one pipeline ran inside the lifecycle's workflow task: a local activity marker.
      const runs = localActivityTypes(events).filter((t) => t === 'runPipeline');
      expect(runs).toHaveLength(2);
      const results = [];
      for await (const r of Worker.runReplayHistories(
        { workflowsPath: workflowsPath(), ...workerTracing({ workflowModule: true }) },
        all,
      ))
        results.push({ workflowId: r.workflowId, error: r.error ? String(r.error) : undefined });
      expect(results.filter((r) => r.error)).toEqual([]);
    } finally {
      await close();
    }
  });

  it('a run started by the reconcile timer gets a trace of its own, rooted in the lifecycle workflow', async () => {
    const api = uniqueApi('timed');
    await applyPromise(
      promiseFor(api, {
        workflows: {
          config: { reconciliationInterval: '2s' },
          resource: {
            configure: [
              shPipeline('report', [
                `printf 'traceParent: "%s"\\n' "$KRATIX_TRACE_PARENT" > /kratix/metadata/status.yaml`,
              ]),
            ],
          },
        },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('timed');
    const rs = resources(api, ns);
    await rs.create('one', {});
    const first = String((await rs.waitFor('one', 'True')).status?.traceParent);
    expect(first).toMatch(TRACEPARENT);
    // No new watch event: the next run comes from the timer.
    const later = await waitUntil(
      'a timer-driven run',
      async () => {
        const tp = String((await rs.get('one')).status?.traceParent ?? '');
        return TRACEPARENT.test(tp) && tp !== first ? tp : undefined;
      },
      60_000,
    );
    const [, traceId] = TRACEPARENT.exec(later)!;
    expect(traceId).not.toBe(TRACEPARENT.exec(first)![1]);
    const spans = await waitUntil(
      'the spans of the timer-driven run',
      () =>
        traceWith(traceId!, [
          /^Reconcile:resourceLifecycle$/,
          /^RunActivity:runPipeline$/,
          /^pipeline report$/,
        ]),
      60_000,
    );
    const root = spans.find((s) => s.name === 'Reconcile:resourceLifecycle')!;
    expect(root.parentSpanId).toBe('');
    expect(spans.some((s) => s.name.startsWith('controller:'))).toBe(false);
    const ids = new Set(spans.map((s) => s.spanId));
    expect(spans.filter((s) => s !== root && !ids.has(s.parentSpanId)).map((s) => s.name)).toEqual([]);
  });
});
