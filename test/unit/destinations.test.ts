import {
  chooseDestination,
  combineSelectors,
  dependenciesOutputDir,
  matches,
  resourceOutputDir,
  type DestinationInfo,
} from '../../src/core/destinations.js';

const dests: DestinationInfo[] = [
  { name: 'b-prod', labels: { env: 'prod', region: 'eu' } },
  { name: 'a-dev', labels: { env: 'dev' } },
  { name: 'c-strict', labels: { env: 'dev', team: 'x' }, strictMatchLabels: true },
];

describe('destination scheduling', () => {
  it('ANDs Promise and pipeline selectors, the Promise winning on a conflicting key', () => {
    expect(
      combineSelectors([{ matchLabels: { env: 'prod' } }], [{ matchLabels: { env: 'dev', region: 'eu' } }]),
    ).toEqual({
      env: 'prod',
      region: 'eu',
    });
  });

  it('picks the first match by name, keeps a previous choice that still matches', () => {
    expect(chooseDestination(dests, {})?.name).toBe('a-dev');
    expect(chooseDestination(dests, { env: 'prod' })?.name).toBe('b-prod');
    expect(chooseDestination(dests, {}, 'b-prod')?.name).toBe('b-prod');
    expect(chooseDestination(dests, { env: 'dev' }, 'b-prod')?.name).toBe('a-dev');
    expect(chooseDestination(dests, { env: 'none' })).toBeUndefined();
  });

  it('never sends unselective output to a strictMatchLabels Destination', () => {
    expect(matches(dests[2]!, {})).toBe(false);
    expect(matches(dests[2]!, { team: 'x' })).toBe(true);
  });

  it('lays out resource and dependency folders as DESIGN §3 says', () => {
    expect(
      resourceOutputDir('clusters', 'dev', { namespace: 'ns', promise: 'redis', name: 'r', pipeline: 'p' }),
    ).toBe('clusters/dev/resources/ns/redis/r/p');
    expect(
      resourceOutputDir(undefined, 'dev', { namespace: 'ns', promise: 'redis', name: 'r', pipeline: '' }),
    ).toBe('dev/resources/ns/redis/r');
    expect(dependenciesOutputDir('', 'dev', 'redis', 'static')).toBe('dev/dependencies/redis/static');
    expect(resourceOutputDir('../x', 'd', { namespace: '..', promise: 'p', name: 'n', pipeline: 'q' })).toBe(
      'x/d/resources/p/n/q',
    );
  });
});

describe('selectors written as unquoted YAML', () => {
  it('match Destination labels as strings (numbers and booleans from destination-selectors.yaml)', () => {
    const labels = combineSelectors(undefined, [
      { matchLabels: { tier: 113574, canary: true } as unknown as Record<string, string> },
    ]);
    expect(labels).toEqual({ tier: '113574', canary: 'true' });
    expect(matches({ name: 'prod', labels: { tier: '113574', canary: 'true' } }, labels)).toBe(true);
  });
});
