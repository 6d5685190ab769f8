import {
  configureRunId,
  pipelineServiceAccountName,
  resourceWorkflowId,
  runDirName,
  runDirsOfLifecycle,
  shortenName,
} from '../../src/core/names.js';
import { parseDuration } from '../../src/core/duration.js';
import { searchAttributesFor } from '../../src/core/search-attributes.js';
import { failureBackoffMs, reconcileDelayMs } from '../../src/core/scheduling.js';

describe('names', () => {
  it('names the pipeline ServiceAccount <promise>-<type>-<action>-<pipeline>', () => {
    expect(pipelineServiceAccountName('iam', 'resource', 'configure', 'create-user')).toBe(
      'iam-resource-configure-create-user',
    );
  });

  it('shortens long names stably and uniquely within 63 characters', () => {
    const a = shortenName('x'.repeat(80) + 'a');
    const b = shortenName('x'.repeat(80) + 'b');
    expect(a).toHaveLength(63);
    expect(a).not.toBe(b);
    expect(shortenName('x'.repeat(80) + 'a')).toBe(a);
    expect(shortenName('short')).toBe('short');
  });

  it('gives each object incarnation its own workflow id', () => {
    const id = resourceWorkflowId({ promise: 'redis', namespace: 'team-a', name: 'cache', uid: 'u1' });
    expect(id).toBe('resource/redis/team-a/cache/u1');
    expect(resourceWorkflowId({ promise: 'redis', namespace: 'team-a', name: 'cache', uid: 'u2' })).not.toBe(
      id,
    );
    expect(configureRunId(id, 3)).toBe(`${id}/configure/3`);
  });
});

describe('parseDuration', () => {
  it.each([
    ['10h', 36_000_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['1.5h', 5_400_000],
  ])('parses %s', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '10', 'ten minutes', '5d', '1h junk'])('rejects %p', (text) =>
    expect(parseDuration(text)).toBeUndefined(),
  );
});

describe('scheduling', () => {
  it('adds at most 5% (max 5 minutes) of deterministic jitter per object', () => {
    const interval = 10 * 3_600_000;
    const delays = ['a', 'b', 'c', 'd'].map((uid) => reconcileDelayMs(interval, uid));
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(interval);
      expect(d).toBeLessThanOrEqual(interval + 5 * 60_000);
    }
    expect(new Set(delays).size).toBeGreaterThan(1);
    expect(reconcileDelayMs(interval, 'a')).toBe(delays[0]);
  });

  it('backs off exponentially after failures, capped', () => {
    expect([1, 2, 3].map((n) => failureBackoffMs(n, 36_000_000))).toEqual([10_000, 20_000, 40_000]);
    expect(failureBackoffMs(30, 36_000_000)).toBe(600_000);
    expect(failureBackoffMs(30, 60_000)).toBe(60_000);
  });
});

describe('runDirsOfLifecycle', () => {
  it("finds a lifecycle's configure and delete run folders, also when names are shortened", () => {
    for (const name of ['app', 'x'.repeat(253)]) {
      const id = `resource/p/ns/${name}/uid-1`;
      const other = `resource/p/ns/${name}/uid-2`;
      const mine = [
        runDirName(`${id}/configure/1`),
        runDirName(`${id}/configure/12`),
        runDirName(`${id}/delete`),
      ];
      const theirs = [runDirName(`${other}/configure/1`), runDirName(`${other}/delete`), 'git-cache'];
      expect(runDirsOfLifecycle(id, [...theirs, ...mine]).sort()).toEqual([...mine].sort());
    }
  });
});

describe('searchAttributesFor', () => {
  it('names the Promise, the Resource (if any), the workflow type and the action', () => {
    const keys = (pairs: ReturnType<typeof searchAttributesFor>) => pairs.map((p) => [p.key.name, p.value]);
    expect(
      keys(searchAttributesFor({ promise: 'redis', namespace: 'team-a', name: 'cache' }, 'delete')),
    ).toEqual([
      ['KratixPromise', 'redis'],
      ['KratixResourceNamespace', 'team-a'],
      ['KratixResourceName', 'cache'],
      ['KratixWorkflowType', 'resource'],
      ['KratixWorkflowAction', 'delete'],
    ]);
    expect(keys(searchAttributesFor({ promise: 'redis' }, 'configure'))).toEqual([
      ['KratixPromise', 'redis'],
      ['KratixWorkflowType', 'promise'],
      ['KratixWorkflowAction', 'configure'],
    ]);
  });
});
