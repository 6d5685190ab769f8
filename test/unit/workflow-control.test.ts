import { parseWorkflowControl } from '../../src/core/workflow-control.js';
import { evaluateRequirements, requiredPromisesOf } from '../../src/core/requirements.js';
import type { KratixPromise } from '../../src/core/types.js';

describe('parseWorkflowControl (/kratix/metadata/workflow-control.yaml)', () => {
  it('no file, an empty file, or suspend: false carry on', () => {
    expect(parseWorkflowControl(undefined)).toEqual({ ok: true });
    expect(parseWorkflowControl('')).toEqual({ ok: true });
    expect(parseWorkflowControl('suspend: false\n')).toEqual({ ok: true });
  });

  it('reads suspend with its message, as upstream SDK WriteSuspend writes it', () => {
    expect(parseWorkflowControl('suspend: true\nmessage: waiting for approval\n')).toEqual({
      ok: true,
      control: { kind: 'suspend', message: 'waiting for approval' },
    });
    expect(parseWorkflowControl('suspend: true')).toEqual({ ok: true, control: { kind: 'suspend' } });
  });

  it('reads retryAfter as a Go duration (upstream samples: 10m, 10s)', () => {
    expect(parseWorkflowControl('retryAfter: 10m')).toEqual({
      ok: true,
      control: { kind: 'retry', retryAfterMs: 600_000, retryAfter: '10m' },
    });
    expect(parseWorkflowControl('retryAfter: 1h30m\nmessage: not yet\nsuspend: true')).toEqual({
      ok: true,
      control: { kind: 'retry', retryAfterMs: 5_400_000, retryAfter: '90m', message: 'not yet' },
    });
  });

  it('refuses bad content with a message naming the file and field', () => {
    const bad = (text: string) => {
      const r = parseWorkflowControl(text);
      if (r.ok) throw new Error(`accepted ${text}`);
      return r.error;
    };
    expect(bad('retryAfter: "whale"')).toMatch(
      /workflow-control\.yaml: retryAfter "whale" is not a positive duration/,
    );
    expect(bad('retryAfter: 10')).toMatch(/retryAfter 10 is not a positive duration/);
    expect(bad('suspend: yes-please')).toMatch(/suspend must be true or false/);
    expect(bad('- suspend')).toMatch(/must be a YAML map/);
    expect(bad('suspend: [')).toMatch(/is not valid YAML/);
    expect(bad('suspended: true')).toMatch(/unknown field suspended/);
    expect(bad('suspend: true\nmessage: [1]')).toMatch(/message must be a string/);
  });
});

describe('requiredPromises', () => {
  const promise = (name: string, opts: { version?: string; available?: boolean } = {}): KratixPromise => ({
    apiVersion: 'platform.kratix.io/v1alpha1',
    kind: 'Promise',
    metadata: { name, ...(opts.version ? { labels: { 'kratix.io/promise-version': opts.version } } : {}) },
    status: { conditions: [{ type: 'Available', status: opts.available === false ? 'False' : 'True' }] },
  });

  it('reads spec.requiredPromises, skipping entries without a name', () => {
    const p = promise('app');
    p.spec = { requiredPromises: [{ name: 'db', version: 'v1' }, { version: 'v2' }, { name: 'cache' }] };
    expect(requiredPromisesOf(p)).toEqual([{ name: 'db', version: 'v1' }, { name: 'cache' }]);
    expect(requiredPromisesOf(promise('x'))).toEqual([]);
  });

  it('is fulfilled when every required Promise is installed (at the version asked) and Available', () => {
    const all = new Map([
      ['db', promise('db', { version: 'v1' })],
      ['cache', promise('cache')],
    ]);
    const r = evaluateRequirements([{ name: 'db', version: 'v1' }, { name: 'cache' }], (n) => all.get(n));
    expect(r).toMatchObject({
      fulfilled: true,
      reason: 'RequirementsInstalled',
      message: 'Requirements fulfilled',
    });
    expect(r.requiredPromises).toEqual([
      { name: 'db', version: 'v1', state: 'Requirement installed' },
      { name: 'cache', state: 'Requirement installed' },
    ]);
  });

  it('names each missing Promise and version', () => {
    const all = new Map([
      ['db', promise('db', { version: 'v1' })],
      ['queue', promise('queue', { available: false })],
    ]);
    const r = evaluateRequirements(
      [{ name: 'db', version: 'v2' }, { name: 'cache', version: 'v1' }, { name: 'queue' }],
      (n) => all.get(n),
    );
    expect(r.fulfilled).toBe(false);
    expect(r.reason).toBe('RequirementsNotInstalled');
    expect(r.message).toBe(
      'Requirements not fulfilled: Promise "db" at version v2 is not installed (installed at version v1); ' +
        'Promise "cache" at version v1 is not installed; Promise "queue" is not Available',
    );
    expect(r.requiredPromises.map((s) => s.state)).toEqual([
      'Requirement not installed at the specified version',
      'Requirement not installed',
      'Requirement not available',
    ]);
    expect(evaluateRequirements([{ name: 'queue' }], (n) => all.get(n)).reason).toBe(
      'RequirementsNotAvailable',
    );
  });
});
