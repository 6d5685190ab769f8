import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  applySchemaDefaults,
  findPromise,
  parseDestination,
  parseDocuments,
  prepareResource,
  testDestinations,
} from '../../src/cli/test-input.js';
import { planOutput, staticDependencyFiles } from '../../src/core/output-plan.js';
import {
  applyMergePatch,
  outcomeFailureDetail,
  pipelineFailedStatus,
  pipelineSucceededStatus,
  runCompletedStatus,
  runStartedStatus,
} from '../../src/core/run-status.js';
import type { KratixPromise, KubeObject } from '../../src/core/types.js';
import {
  findRunLogs,
  KEPT_LOG_BYTES,
  keepRunLogs,
  KEPT_RUNS_PER_LIFECYCLE,
  readTail,
  runFolder,
} from '../../src/executors/local-logs.js';

const promise: KratixPromise = {
  apiVersion: 'platform.kratix.io/v1alpha1',
  kind: 'Promise',
  metadata: { name: 'redis' },
  spec: {
    destinationSelectors: [{ matchLabels: { env: 'dev' } }],
    api: {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'redis.example.com' },
      spec: {
        group: 'example.com',
        names: { plural: 'redis', kind: 'Redis' },
        versions: [
          {
            name: 'v1',
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  spec: {
                    type: 'object',
                    properties: {
                      size: { type: 'string', default: 'small' },
                      tls: {
                        type: 'object',
                        default: {},
                        properties: { enabled: { type: 'boolean', default: true } },
                      },
                    },
                  },
                },
              },
            },
          },
        ],
      },
    },
  },
};

describe('kratix-temporal test inputs', () => {
  it('reads YAML documents and finds the one Promise', () => {
    const docs = parseDocuments(
      'kind: A\nmetadata: {name: a}\n---\n---\nkind: Promise\nmetadata: {name: p}\n',
      'f.yaml',
    );
    expect(docs.map((d) => d.kind)).toEqual(['A', 'Promise']);
    expect(findPromise(docs, 'f.yaml').metadata.name).toBe('p');
    expect(() => findPromise([docs[0]!], 'f.yaml')).toThrow('f.yaml: expected one Promise, found 0');
    expect(() => parseDocuments('a: [', 'bad.yaml')).toThrow('bad.yaml: invalid YAML in document 1');
    expect(() => parseDocuments('just: text', 'x.yaml')).toThrow(
      'x.yaml: document 1 is not a Kubernetes object',
    );
  });

  it('parses --destination as [name:]key=value,...', () => {
    expect(parseDestination('worker-1:env=dev,zone=eu', 1)).toEqual({
      name: 'worker-1',
      labels: { env: 'dev', zone: 'eu' },
    });
    expect(parseDestination('env=dev', 2)).toEqual({ name: 'destination-2', labels: { env: 'dev' } });
    expect(parseDestination('plain', 1)).toEqual({ name: 'plain', labels: {} });
    expect(() => parseDestination('x:nolabel', 1)).toThrow('"nolabel" is not key=value');
    expect(() => parseDestination('Bad_Name:a=b', 1)).toThrow('not a valid Destination name');
  });

  it('defaults to one Destination carrying the labels the Promise selects', () => {
    expect(testDestinations([], promise)).toEqual([{ name: 'default', labels: { env: 'dev' } }]);
    expect(() => testDestinations(['a:x=1', 'a:y=2'], promise)).toThrow('--destination a is given twice');
  });

  it('fills schema defaults and the namespace as the API server would', () => {
    expect(applySchemaDefaults({ properties: { a: { default: 1 } } }, { b: 2 })).toEqual({ a: 1, b: 2 });
    const r = prepareResource(
      promise,
      { apiVersion: 'example.com/v1', kind: 'Redis', metadata: { name: 'x' }, spec: { size: 'large' } },
      'r.yaml',
    );
    expect(r.metadata).toEqual({ name: 'x', namespace: 'default', generation: 1 });
    expect(r.spec).toEqual({ size: 'large', tls: { enabled: true } });
    expect(() =>
      prepareResource(
        promise,
        { apiVersion: 'other.io/v1', kind: 'Redis', metadata: { name: 'x' } },
        'r.yaml',
      ),
    ).toThrow("r.yaml: Redis x (other.io/v1) is not of the Promise's API Redis (example.com)");
    expect(() =>
      prepareResource(
        promise,
        { apiVersion: 'example.com/v9', kind: 'Redis', metadata: { name: 'x' } },
        'r.yaml',
      ),
    ).toThrow("the Promise's API has no version v9");
  });
});

const T = '2026-12-02T06:00:00Z';
const obj = (status?: Record<string, unknown>): KubeObject => ({
  apiVersion: 'example.com/v1',
  kind: 'Redis',
  metadata: { name: 'x' },
  ...(status ? { status } : {}),
});

describe('run status as pure patches', () => {
  it('applies JSON merge patches as the API server does', () => {
    expect(applyMergePatch({ a: { b: 1, c: 2 }, d: [1] }, { a: { b: null, e: 3 }, d: [2] })).toEqual({
      a: { c: 2, e: 3 },
      d: [2],
    });
  });

  it('walks a run: started, pipeline merged, completed', () => {
    let o = obj();
    const apply = (p: Record<string, unknown>) =>
      (o = { ...o, status: applyMergePatch(o.status ?? {}, p) as never });
    apply(runStartedStatus(o, 'redis', ['a', 'b'], T));
    expect(o.status).toMatchObject({
      message: 'Pending',
      conditions: [{ type: 'PipelineCompleted', status: 'False', reason: 'PipelineNotCompleted' }],
      kratix: {
        workflows: {
          pipelines: [
            { name: 'a', phase: 'Pending' },
            { name: 'b', phase: 'Pending' },
          ],
        },
      },
    });
    apply(pipelineSucceededStatus(o, { message: 'hi', app: { x: 1 } }, 'a', { a: 'dest-1' }, T));
    expect(o.status).toMatchObject({
      message: 'hi',
      app: { x: 1 },
      kratix: {
        destinations: { a: 'dest-1' },
        workflows: { pipelines: [{ name: 'a', phase: 'Succeeded' }, { name: 'b' }] },
      },
    });
    apply(runCompletedStatus(o, 3, false, T));
    expect(o.status).toMatchObject({
      message: 'hi',
      observedGeneration: 3,
      lastSuccessfulConfigureWorkflowTime: T,
      conditions: [
        {
          type: 'PipelineCompleted',
          status: 'True',
          reason: 'PipelineExecutedSuccessfully',
          observedGeneration: 3,
        },
        { type: 'WorksSucceeded', status: 'True', reason: 'WorksSucceeded' },
      ],
    });
    expect(runCompletedStatus(obj({ message: 'Pending' }), 1, true, T)).toMatchObject({
      message: 'Promise configured',
      status: 'Available',
      lastAvailableTime: T,
    });
  });

  it('words failures with the container and keeps the delete condition apart', () => {
    expect(outcomeFailureDetail({ container: 'c', index: 1, exitCode: 2, message: '' }, 3)).toBe(
      'container "c" (2/3) exited with code 2',
    );
    expect(outcomeFailureDetail({ container: 'c', index: 0, exitCode: null, message: 'no command' }, 1)).toBe(
      'no command',
    );
    const f = pipelineFailedStatus(obj({}), 'delete', 'p', 'boom', T);
    expect(f).toMatchObject({ message: 'Pipeline "p" failed: boom', reason: 'DeletePipelineFailed' });
    expect(f.patch).not.toHaveProperty('kratix');
    expect(pipelineFailedStatus(undefined, 'configure', 'p', 'boom', T).patch).toBeUndefined();
  });
});

describe('output plan', () => {
  const dests = [
    { name: 'b', labels: { env: 'dev' } },
    { name: 'a', labels: { env: 'dev' } },
    { name: 'prod', labels: { env: 'prod' } },
  ];
  const file = { path: 'a.yaml' };
  const plan = (over: Partial<Parameters<typeof planOutput<{ path: string }>>[0]>, labels = { env: 'dev' }) =>
    planOutput<{ path: string }>({
      isPromise: false,
      pipeline: 'p',
      groups: [{ directory: '.', files: [file], labels }],
      destinations: dests,
      recorded: {},
      ...over,
    });

  it('sends a Resource to one matching Destination, sticky; a Promise to all', () => {
    expect(plan({})).toEqual({
      kind: 'write',
      record: { p: 'a' },
      filesFor: new Map([['a', [file]]]),
      warnings: [],
    });
    expect(plan({ recorded: { p: 'b' } })).toMatchObject({ record: { p: 'b' } });
    expect(plan({ isPromise: true })).toMatchObject({ record: { p: 'b,a' } });
  });

  it('removes output from a Destination it moved away from, and records per directory', () => {
    const moved = plan({ recorded: { p: 'prod', 'p/old': 'a' } });
    expect(moved).toMatchObject({ kind: 'write', record: { p: 'a', 'p/old': null } });
    expect(moved.kind === 'write' && moved.filesFor.get('prod')).toEqual([]);
    const dirs = plan({
      groups: [
        { directory: '.', files: [], labels: { env: 'dev' } },
        { directory: 'prod', files: [file], labels: { env: 'prod' } },
      ],
    });
    expect(dirs).toMatchObject({ record: { 'p/prod': 'prod' } });
  });

  it('waits for a Destination for a Resource, only warns for a Promise', () => {
    expect(plan({}, { env: 'qa' })).toEqual({
      kind: 'wait',
      message: 'Pipeline "p": no Destination matches env=qa; waiting for one',
    });
    expect(plan({ isPromise: true, destinations: [] })).toMatchObject({
      kind: 'write',
      warnings: ['Pipeline "p": no Destination matches; output not written'],
    });
  });

  it('writes static dependencies as one file', () => {
    expect(staticDependencyFiles(undefined)).toEqual([]);
    expect(staticDependencyFiles([obj(), obj()])[0]!.content.split('---\n')).toHaveLength(2);
  });
});

describe('local executor logs kept for kratix-temporal logs', () => {
  const run = (n: number) => `resource/p/ns/x/uid/configure/${n}`;
  const write = (workDir: string, runId: string, text: string) => {
    const dir = path.join(runFolder(workDir, runId), '0-render', 'logs');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, '0-template.log'), text);
  };

  it('reads a live run, keeps a bounded copy when its folder goes, and only the newest runs', async () => {
    const workDir = mkdtempSync(path.join(tmpdir(), 'logs-'));
    write(workDir, run(1), 'hello\n');
    expect(findRunLogs(workDir, run(1))).toMatchObject([
      { pipeline: 'render', container: 'template', containerIndex: 0 },
    ]);
    await keepRunLogs(workDir, run(1));
    // The caller then removes the folder; the kept copy answers.
    rmSync(runFolder(workDir, run(1)), { recursive: true });
    const kept = findRunLogs(workDir, run(1));
    expect(kept[0]!.file).toContain(`${path.sep}logs${path.sep}`);
    expect(readTail(kept[0]!.file)).toBe('hello\n');

    const big = `${'x'.repeat(100)}\n`.repeat(Math.ceil((KEPT_LOG_BYTES * 2) / 101));
    write(workDir, run(2), big);
    await keepRunLogs(workDir, run(2));
    const cut = readTail(
      path.join(workDir, 'logs', path.basename(runFolder(workDir, run(2))), '0-render', '0-template.log'),
    );
    expect(cut.length).toBeLessThanOrEqual(KEPT_LOG_BYTES + 100);
    expect(cut).toMatch(/^\[… \d+ earlier bytes not kept\]\n/);

    for (let n = 3; n <= KEPT_RUNS_PER_LIFECYCLE + 3; n++) {
      write(workDir, run(n), `run ${n}\n`);
      await keepRunLogs(workDir, run(n));
    }
    write(workDir, 'resource/p/ns/other/uid/configure/1', 'another object');
    await keepRunLogs(workDir, 'resource/p/ns/other/uid/configure/1');
    expect(readdirSync(path.join(workDir, 'logs')).sort()).toEqual([
      'resource_p_ns_other_uid_configure_1',
      'resource_p_ns_x_uid_configure_4',
      'resource_p_ns_x_uid_configure_5',
      'resource_p_ns_x_uid_configure_6',
      'resource_p_ns_x_uid_configure_7',
      'resource_p_ns_x_uid_configure_8',
    ]);
  });
});
