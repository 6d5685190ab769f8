// The HTTP layer of the API clients: client-node's own (node-fetch 2), with the response body read
// at once and one known false failure retried.
//
// node-fetch 2 checks, when a chunked response closes, whether its socket still has a data
// listener, and if so reports the body as cut short ("Premature close"). On a keep-alive socket
// that the agent already handed to the next queued request, that listener is the next request's:
// the response was complete (node-fetch/node-fetch#1767). Under a burst the worker saw it on ~7 %
// of runs, each then retried as a whole activity after a second's backoff. The agents set no
// socket cap (client.ts), so no request waits for a socket and this rarely happens; requests that
// are safe to repeat are repeated here when it does (kratix_kube_request_retries_total counts
// them); a create (POST) is not, and fails as before.
import * as k8s from '@kubernetes/client-node';
import { metrics } from '../metrics.js';

const REPEATABLE = new Set<string>(['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE']);
const ATTEMPTS = 3;

/** node-fetch's error for a body it believes was cut short. */
export function isPrematureClose(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown } | undefined;
  return e?.code === 'ERR_STREAM_PREMATURE_CLOSE' || e?.errno === 'ERR_STREAM_PREMATURE_CLOSE';
}

export class RetryingHttpLibrary implements k8s.PromiseHttpLibrary {
  constructor(private readonly inner: k8s.HttpLibrary = new k8s.IsomorphicFetchHttpLibrary()) {}

  async send(request: k8s.RequestContext): Promise<k8s.ResponseContext> {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.inner.send(request).toPromise();
        // Read now, inside the retry: client-node reads the body later, where a failure is final.
        const data = await res.body.binary();
        return new k8s.ResponseContext(
          res.httpStatusCode,
          res.headers,
          new k8s.SelfDecodingBody(Promise.resolve(data)),
        );
      } catch (err) {
        const repeat =
          attempt < ATTEMPTS &&
          isPrematureClose(err) &&
          REPEATABLE.has(String(request.getHttpMethod())) &&
          !request.getSignal()?.aborted;
        if (!repeat) throw err;
        metrics.kubeRequestRetries.inc();
      }
    }
  }
}

/** API client configuration for `kc` over RetryingHttpLibrary (what kc.makeApiClient builds, plus it). */
export function apiConfiguration(kc: k8s.KubeConfig): k8s.Configuration {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('No active cluster!');
  return k8s.createConfiguration({
    baseServer: new k8s.ServerConfiguration(cluster.server, {}),
    authMethods: { default: kc },
    httpApi: k8s.wrapHttpLibrary(new RetryingHttpLibrary()),
  });
}
