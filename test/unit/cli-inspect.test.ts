import { humanDuration, oneLine, shortTime, table } from '../../src/cli/format.js';
import { formatRuns } from '../../src/cli/inspect-output.js';
import { pickRun } from '../../src/cli/inspect.js';
import { errorChain } from '../../src/core/errors.js';
import {
  newRunSince,
  parseFailure,
  runLabel,
  summarizeLifecycleRuns,
  summarizeRun,
  webUiUrl,
  type RawRun,
} from '../../src/cli/run-history.js';
import {
  kindNames,
  lifecyclesQuery,
  parseTargetArg,
  resolveTarget,
  runsQuery,
} from '../../src/cli/targets.js';
import type { KratixPromise } from '../../src/core/types.js';

const redis: KratixPromise = {
  apiVersion: 'platform.kratix.io/v1alpha1',
  kind: 'Promise',
  metadata: { name: 'redis' },
  spec: {
    api: {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'redis.marketplace.kratix.io' },
      spec: {
        group: 'marketplace.kratix.io',
        names: { plural: 'redis', singular: 'redis', kind: 'Redis', shortNames: ['rd'] },
        versions: [
          { name: 'v1beta1', served: true },
          { name: 'v1alpha1', served: true, storage: true },
        ],
      },
    },
  },
};
const cache = structuredClone(redis);
cache.metadata.name = 'cache';
(cache.spec!.api!.spec as { group: string }).group = 'cache.example.com';

describe('targets: <kind>/<name> as kubectl reads it', () => {
  it('parses kind and name and refuses anything else', () => {
    expect(parseTargetArg('redis/example')).toEqual({ kind: 'redis', name: 'example' });
    for (const bad of ['redis', '/x', 'redis/', 'a/b/c'])
      expect(() => parseTargetArg(bad)).toThrow('expected <kind>/<name>');
  });

  it('knows kind, plural, singular and short names, also with the group', () => {
    expect(kindNames(redis.spec!.api!.spec as never)).toEqual(
      expect.arrayContaining(['redis', 'rd', 'redis.marketplace.kratix.io', 'rd.marketplace.kratix.io']),
    );
  });

  it('resolves Promises and Resources, with the storage version', () => {
    expect(resolveTarget('promise/redis', 'ns', [redis])).toEqual({ type: 'promise', promise: 'redis' });
    expect(resolveTarget('Promises/redis', 'ns', [])).toEqual({ type: 'promise', promise: 'redis' });
    expect(resolveTarget('Redis/example', 'team-a', [redis])).toEqual({
      type: 'resource',
      promise: 'redis',
      group: 'marketplace.kratix.io',
      version: 'v1alpha1',
      kind: 'Redis',
      plural: 'redis',
      namespace: 'team-a',
      name: 'example',
    });
  });

  it('says when a kind is unknown or ambiguous', () => {
    expect(() => resolveTarget('mysql/x', 'default', [redis])).toThrow(
      'no Promise provides the kind "mysql" (Promises: redis)',
    );
    expect(() => resolveTarget('redis/x', 'default', [redis, cache])).toThrow(
      '"redis" is ambiguous: Promises redis, cache',
    );
    expect(resolveTarget('redis.cache.example.com/x', 'default', [redis, cache])).toMatchObject({
      promise: 'cache',
    });
  });

  it('queries the configure and delete runs of exactly one object, quoting values', () => {
    expect(runsQuery({ type: 'promise', promise: 'redis' })).toBe(
      "KratixPromise = 'redis' AND KratixWorkflowType = 'promise' AND (WorkflowType = 'configureRun' OR WorkflowType = 'deleteRun')",
    );
    const q = runsQuery(resolveTarget("redis/it's", 'ns', [redis]));
    expect(q).toContain("KratixResourceNamespace = 'ns' AND KratixResourceName = 'it\\'s'");
  });

  it('queries the lifecycle executions of exactly one object (its configure runs run inside them)', () => {
    expect(lifecyclesQuery({ type: 'promise', promise: 'redis' })).toBe(
      "KratixPromise = 'redis' AND KratixWorkflowType = 'promise' AND WorkflowType = 'promiseLifecycle'",
    );
    expect(lifecyclesQuery(resolveTarget('redis/x', 'ns', [redis]))).toBe(
      "KratixPromise = 'redis' AND KratixResourceNamespace = 'ns' AND KratixResourceName = 'x' AND WorkflowType = 'resourceLifecycle'",
    );
  });
});

const base: RawRun = {
  workflowId: 'resource/redis/default/example/uid-1/configure/2',
  runId: 'run-2',
  type: 'configureRun',
  status: 'COMPLETED',
  startTime: '2026-12-02T06:30:00.000Z',
  closeTime: '2026-12-02T06:30:03.500Z',
  input: { reason: 'spec-changed', generation: 2 },
  result: { outcome: 'succeeded' },
  pipelines: [{ name: 'instance', state: 'completed' }],
};
const now = new Date('2026-12-02T06:31:00.000Z');

describe('run history', () => {
  it('labels configure runs by number and delete attempts', () => {
    expect(runLabel('x/configure/12')).toEqual({ run: '12', action: 'configure' });
    expect(runLabel('x/delete')).toEqual({ run: 'delete', action: 'delete' });
    expect(runLabel('x/delete/3')).toEqual({ run: 'delete 3', action: 'delete' });
  });

  it('finds the pipeline and container in a failure message', () => {
    expect(parseFailure('Pipeline "creds" failed: container "store" (1/2) exited with code 3')).toEqual({
      pipeline: 'creds',
      container: 'store',
    });
    expect(parseFailure('Pipeline "creds" failed: did not finish within 1h')).toEqual({ pipeline: 'creds' });
    expect(parseFailure(undefined)).toEqual({});
  });

  it('summarizes a succeeded run with its reason, duration and link', () => {
    expect(summarizeRun(base, { now, webUi: 'http://ui:8233/', namespace: 'default' })).toEqual({
      run: '2',
      action: 'configure',
      reason: 'spec-changed',
      generation: 2,
      outcome: 'succeeded',
      startTime: base.startTime,
      closeTime: base.closeTime,
      durationMs: 3500,
      workflowId: base.workflowId,
      runId: 'run-2',
      webUrl: `http://ui:8233/namespaces/default/workflows/${encodeURIComponent(base.workflowId)}/run-2/history`,
    });
  });

  it('names the failing pipeline and container of a failed run', () => {
    const s = summarizeRun(
      {
        ...base,
        status: 'FAILED',
        result: undefined,
        failure: 'Pipeline "check" failed: container "verify" (1/1) exited with code 3',
        pipelines: [
          { name: 'render', state: 'completed' },
          { name: 'check', state: 'failed', failure: 'ignored: the run failure wins' },
        ],
      },
      { now, namespace: 'default' },
    );
    expect(s).toMatchObject({ outcome: 'failed', pipeline: 'check', container: 'verify' });
    expect(s.message).toContain('exited with code 3');
    expect(s.webUrl).toBeUndefined();
  });

  it('shows what a running run is doing, its duration so far, and superseded runs', () => {
    const running = summarizeRun(
      {
        ...base,
        status: 'RUNNING',
        closeTime: undefined,
        result: undefined,
        pipelines: [{ name: 'instance', state: 'running' }],
      },
      { now, namespace: 'default' },
    );
    expect(running).toMatchObject({ outcome: 'running', pipeline: 'instance', durationMs: 60_000 });
    expect(
      summarizeRun({ ...base, result: { outcome: 'superseded' } }, { now, namespace: 'd' }).outcome,
    ).toBe('superseded');
    const del = summarizeRun(
      { ...base, workflowId: 'x/delete/2', type: 'deleteRun', input: undefined },
      { now, namespace: 'd' },
    );
    expect(del).toMatchObject({ run: 'delete 2', action: 'delete', reason: 'manual', outcome: 'succeeded' });
  });

  it('picks a run by number, "delete", or the newest', () => {
    const runs = [
      summarizeRun({ ...base, workflowId: 'x/configure/1' }, { now, namespace: 'd' }),
      summarizeRun({ ...base, workflowId: 'x/delete' }, { now, namespace: 'd' }),
    ];
    expect(pickRun(runs, undefined)?.run).toBe('delete');
    expect(pickRun(runs, '1')?.run).toBe('1');
    expect(pickRun(runs, 'DELETE')?.run).toBe('delete');
    expect(pickRun(runs, '7')).toBeUndefined();
  });

  it('finds the run a retry started, also when a lifecycle could not be read before', () => {
    const run = (workflowId: string, runId: string, startTime: string, action: 'configure' | 'delete') => ({
      run: runLabel(workflowId).run,
      action,
      reason: 'manual',
      outcome: 'running',
      startTime,
      workflowId,
      runId,
    });
    const old1 = run('L/configure/1', 'e1', '2026-12-03T10:00:00Z', 'configure');
    const old2 = run('L/configure/2', 'e1', '2026-12-03T10:05:00Z', 'configure');
    const fresh = run('L/configure/3', 'e1', '2026-12-03T10:10:01Z', 'configure');
    const failedDelete = run('L/delete', 'd1', '2026-12-03T10:06:00Z', 'delete');
    const deleteAgain = run('L/delete/2', 'd2', '2026-12-03T10:10:02Z', 'delete');
    const requestedAt = new Date('2026-12-03T10:10:00Z');

    const seen = { runs: [old1, old2], unread: [] };
    expect(newRunSince([old1, old2], seen, requestedAt)).toBeUndefined();
    expect(newRunSince([old1, old2, fresh], seen, requestedAt)).toBe(fresh);
    // Before, the state query went unanswered: runs 1 and 2 are unseen but older than the request.
    const unread = {
      runs: [failedDelete],
      unread: [{ lifecycleId: 'L', error: 'Failed to query Workflow' }],
    };
    expect(newRunSince([old1, old2, failedDelete], unread, requestedAt)).toBeUndefined();
    expect(newRunSince([old1, old2, failedDelete, fresh], unread, requestedAt)).toBe(fresh);
    // Child runs (delete attempts) are listed from visibility, never unread.
    expect(newRunSince([old1, old2, failedDelete, deleteAgain], unread, requestedAt)).toBe(deleteAgain);
  });

  it("says an error's causes: the query client's message alone says little", () => {
    const grpc = Object.assign(new Error('4 DEADLINE_EXCEEDED: Deadline exceeded after 20.001s\nmore'), {});
    expect(errorChain(new Error('Failed to query Workflow', { cause: grpc }))).toBe(
      'Failed to query Workflow: 4 DEADLINE_EXCEEDED: Deadline exceeded after 20.001s',
    );
    expect(errorChain(new Error('same', { cause: new Error('same') }))).toBe('same');
    expect(errorChain('plain')).toBe('plain');
  });

  it('builds Web UI links only with a base URL', () => {
    expect(webUiUrl(undefined, 'default', 'a/b', 'r')).toBeUndefined();
    expect(webUiUrl('http://ui', 'my ns', 'a/b', 'r')).toBe(
      'http://ui/namespaces/my%20ns/workflows/a%2Fb/r/history',
    );
  });
});

describe('terminal formatting', () => {
  it('aligns columns without trailing spaces', () => {
    expect(
      table(
        ['A', 'LONG HEADER', 'C'],
        [
          ['xyz', '1', ''],
          ['1', '22', 'last'],
        ],
      ),
    ).toBe('A    LONG HEADER  C\nxyz  1\n1    22           last');
  });

  it('writes short durations and times', () => {
    expect([
      humanDuration(850),
      humanDuration(12_400),
      humanDuration(185_000),
      humanDuration(7_800_000),
    ]).toEqual(['850ms', '12s', '3m05s', '2h10m']);
    expect(humanDuration(undefined)).toBe('-');
    expect(shortTime('2026-12-02T06:30:01.123Z')).toBe('2026-12-02 06:30:01');
    expect(oneLine('a\n  b', 10)).toBe('a b');
    expect(oneLine('x'.repeat(20), 5)).toBe('xxxx…');
  });

  it("prints runs as a table, then each run's message and link", () => {
    const failed = summarizeRun(
      {
        ...base,
        status: 'FAILED',
        failure: 'Pipeline "check" failed: container "verify" (1/1) exited with code 3',
      },
      { now, webUi: 'http://ui', namespace: 'default' },
    );
    const text = formatRuns('Redis default/example', [failed]);
    expect(text.split('\n').slice(0, 3)).toEqual([
      'Redis default/example',
      'RUN  ACTION     REASON        OUTCOME  STARTED (UTC)        DURATION  PIPELINE  CONTAINER',
      '2    configure  spec-changed  failed   2026-12-02 06:30:00  4s        check     verify',
    ]);
    expect(text).toContain(
      'run 2 (failed):\n  Pipeline "check" failed: container "verify" (1/1) exited with code 3\n  http://ui/',
    );
    expect(formatRuns('X', [])).toBe('X: no runs found\n');
  });
});

describe('runs inside a lifecycle (its state query)', () => {
  const lifecycleId = 'resource/redis/default/example/uid-1';
  const opts = { lifecycleId, now, namespace: 'default' };
  const ran = {
    number: 2,
    workflowId: `${lifecycleId}/configure/2`,
    outcome: 'failed' as const,
    generation: 3,
    reason: 'spec-changed',
    error: 'Pipeline "check" failed: container "verify" (1/1) exited with code 3',
    startedAt: '2026-12-02T06:30:00.000Z',
    endedAt: '2026-12-02T06:30:01.250Z',
    execution: 'exec-1',
    inline: true,
  };

  it('summarizes a finished run: outcome, failing pipeline and container, duration, lifecycle link', () => {
    const [r] = summarizeLifecycleRuns({ lastRuns: [ran] }, { ...opts, webUi: 'http://ui:8233' });
    expect(r).toEqual({
      run: '2',
      action: 'configure',
      reason: 'spec-changed',
      generation: 3,
      outcome: 'failed',
      startTime: ran.startedAt,
      closeTime: ran.endedAt,
      durationMs: 1250,
      pipeline: 'check',
      container: 'verify',
      message: ran.error,
      workflowId: ran.workflowId,
      runId: 'exec-1',
      webUrl: `http://ui:8233/namespaces/default/workflows/${encodeURIComponent(lifecycleId)}/exec-1/history`,
    });
  });

  it('shows the run in flight with its pipeline and duration so far', () => {
    const running = { ...ran, number: 3, workflowId: '', outcome: 'succeeded' as const, endedAt: undefined };
    const runs = summarizeLifecycleRuns(
      {
        lastRuns: [],
        running,
        currentRun: `${lifecycleId}/configure/3`,
        currentPipeline: 'render',
      },
      opts,
    );
    expect(runs).toEqual([
      expect.objectContaining({
        run: '3',
        outcome: 'running',
        pipeline: 'render',
        durationMs: 60_000,
        workflowId: `${lifecycleId}/configure/3`,
      }),
    ]);
    expect(runs[0]!.message).toBeUndefined();
  });

  it('leaves out runs that were child executions (their own histories list them)', () => {
    const child = { ...ran, number: 1, workflowId: `${lifecycleId}/configure/1`, inline: undefined };
    expect(summarizeLifecycleRuns({ lastRuns: [child, ran] }, opts).map((r) => r.run)).toEqual(['2']);
  });
});
