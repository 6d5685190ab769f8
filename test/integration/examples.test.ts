import { fileURLToPath } from 'node:url';
import { kubectl } from '../support/cluster.js';
import { checkout, filesUnder } from '../support/state-store.js';

const example = (f: string) => fileURLToPath(new URL(`../../examples/redis/${f}`, import.meta.url));

describe('examples/redis, driven with kubectl as the README shows', () => {
  it('installs the Promise, then configures a Redis through both pipelines', async () => {
    expect((await kubectl(['apply', '-f', example('promise.yaml')])).code).toBe(0);
    const available = await kubectl(['wait', 'promise/redis', '--for=condition=Available', '--timeout=60s']);
    expect(available.stderr).toBe('');
    expect((await kubectl(['apply', '-f', example('resource.yaml')])).code).toBe(0);
    const waitRedis = async (condition: string) =>
      expect(
        (await kubectl(['wait', 'redis/example', `--for=${condition}`, '--timeout=120s'])).stdout,
      ).toContain('condition met');
    await waitRedis('condition=PipelineCompleted');

    const get = await kubectl(['get', 'redis']);
    expect(get.stdout).toMatch(/example\s+Redis ready at redis-example\.default\.svc/);
    const status = JSON.parse(
      (await kubectl(['get', 'redis', 'example', '-o', 'jsonpath={.status.redis}'])).stdout,
    );
    expect(status).toEqual({
      host: 'redis-example.default.svc',
      maxmemory: '2Gi',
      passwordSecret: 'redis-example-auth',
    });
    const password = async () =>
      (await kubectl(['get', 'secret', 'redis-example-auth', '-o', 'jsonpath={.data.password}'])).stdout;
    const first = await password();
    expect(first).not.toBe('');
    // A second run (a spec change) succeeds too and keeps the password the first one created.
    await kubectl(['patch', 'redis', 'example', '--type', 'merge', '-p', '{"spec":{"size":"small"}}']);
    await waitRedis('jsonpath={.status.redis.maxmemory}=256Mi');
    await waitRedis('condition=PipelineCompleted');
    expect(await password()).toBe(first);
    // dev's (and the test setup's) default store: the rendered file landed in git.
    const co = checkout(process.env.KRATIX_TEST_DEFAULT_REPO!);
    expect(filesUnder(co, 'worker-1/resources/default/redis/example/instance')).toEqual(['redis.yaml']);

    const promises = await kubectl(['get', 'promises']);
    // Upstream's columns: Status, Kind, API Version, Version, Message.
    expect(promises.stdout).toMatch(/redis\s+Available\s+Redis\s+\S+\/v1alpha1\s+.*Promise configured/);
  });
});
