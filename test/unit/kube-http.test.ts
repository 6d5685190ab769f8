import * as k8s from '@kubernetes/client-node';
import { isPrematureClose, RetryingHttpLibrary } from '../../src/kube/http.js';
import { metrics } from '../../src/metrics.js';

const repeats = async () => (await metrics.kubeRequestRetries.get()).values.reduce((n, v) => n + v.value, 0);

/** node-fetch's false "Premature close" (node-fetch#1767), as it throws it. */
const prematureClose = () =>
  Object.assign(new Error('Invalid response body while trying to fetch …: Premature close'), {
    type: 'system',
    errno: 'ERR_STREAM_PREMATURE_CLOSE',
    code: 'ERR_STREAM_PREMATURE_CLOSE',
  });

/** A transport whose first `failures` responses fail while their body is read. */
function flakyTransport(failures: number) {
  let calls = 0;
  const transport: k8s.HttpLibrary = {
    send: () => {
      calls++;
      const n = calls;
      const body: k8s.ResponseBody = {
        binary: () =>
          n <= failures ? Promise.reject(prematureClose()) : Promise.resolve(Buffer.from('{"ok":true}')),
        text: () => Promise.resolve('unused'),
      };
      return new k8s.Observable(Promise.resolve(new k8s.ResponseContext(200, {}, body)));
    },
  };
  return { transport, calls: () => calls };
}

const request = (method: k8s.HttpMethod) => new k8s.RequestContext('https://api.example/apis/x', method);

describe('RetryingHttpLibrary (API requests over node-fetch 2)', () => {
  it('repeats a PATCH or GET whose complete response node-fetch reported as cut short, and counts it', async () => {
    for (const method of [k8s.HttpMethod.PATCH, k8s.HttpMethod.GET]) {
      const before = await repeats();
      const t = flakyTransport(2);
      const res = await new RetryingHttpLibrary(t.transport).send(request(method));
      expect(await res.body.text()).toBe('{"ok":true}');
      expect(t.calls()).toBe(3);
      // kratix_kube_request_retries_total: how often it happens in a running worker.
      expect((await repeats()) - before).toBe(2);
    }
  });

  it('does not repeat a create (POST), and gives up after three attempts', async () => {
    const post = flakyTransport(1);
    await expect(new RetryingHttpLibrary(post.transport).send(request(k8s.HttpMethod.POST))).rejects.toThrow(
      /Premature close/,
    );
    expect(post.calls()).toBe(1);
    const get = flakyTransport(5);
    await expect(new RetryingHttpLibrary(get.transport).send(request(k8s.HttpMethod.GET))).rejects.toThrow(
      /Premature close/,
    );
    expect(get.calls()).toBe(3);
  });

  it('recognises only that error', () => {
    expect(isPrematureClose(prematureClose())).toBe(true);
    expect(isPrematureClose(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(false);
    expect(isPrematureClose(undefined)).toBe(false);
  });
});
