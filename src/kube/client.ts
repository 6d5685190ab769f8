import { createHash } from 'node:crypto';
import https from 'node:https';
import * as k8s from '@kubernetes/client-node';
import { apiConfiguration } from './http.js';
import type { ReadCache } from './read-cache.js';

/**
 * A KubeConfig whose API clients share keep-alive connections. client-node 1.x builds a new
 * https.Agent for every request, so each call paid a TLS handshake and a new SecureContext: that
 * was a third of the worker's CPU under load. Agents are cached per server and TLS material.
 */
/** Upper bound for one API request (not watches, which have their own path). */
const REQUEST_TIMEOUT_MS = 60_000;

/**
 * How long the TLS material behind a pooled agent is trusted before it is hashed again: files
 * (e.g. a mounted CA bundle) may be replaced, but hashing them on every request cost more CPU than
 * the request's own TLS work.
 */
const TLS_RECHECK_MS = 60_000;

/** PEM material as text: the agent's connection-pool key is built from it on every request. */
const asText = (x: unknown): unknown =>
  Buffer.isBuffer(x) ? x.toString('utf8') : Array.isArray(x) ? x.map(asText) : x;

export class PooledKubeConfig extends k8s.KubeConfig {
  private readonly agents = new Map<string, https.Agent>();
  /** The key of the current cluster and user's TLS material, as last hashed. */
  private lastKey?: { cluster: object; user: object | null; key: string; at: number };

  override async applySecurityAuthentication(context: k8s.RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    // client-node sets no timeout: a request lost on a dead connection would hang its caller (a
    // controller handler, an informer's list) forever. Abort it instead; callers retry.
    if (!context.getSignal()) context.setSignal(AbortSignal.timeout(REQUEST_TIMEOUT_MS));
    const cluster = this.getCurrentCluster();
    const fresh = context.getAgent();
    // Proxies and plain http keep client-node's own agent.
    if (
      !cluster ||
      cluster.proxyUrl ||
      !cluster.server.startsWith('https:') ||
      !(fresh instanceof https.Agent)
    )
      return;
    const o = fresh.options;
    const user = this.getCurrentUser();
    const now = Date.now();
    const last = this.lastKey;
    let key: string;
    if (last && last.cluster === cluster && last.user === user && now - last.at < TLS_RECHECK_MS)
      key = last.key;
    else {
      key = tlsKey(cluster.server, o);
      this.lastKey = { cluster, user, key, at: now };
    }
    let agent = this.agents.get(key);
    if (!agent) {
      // Idle sockets close after 30 s, before the API server's own idle timeout (90 s) can close
      // one under a request that is just reusing it ("socket hang up").
      agent = new https.Agent({
        ...o,
        ca: asText(o.ca) as https.AgentOptions['ca'],
        cert: asText(o.cert) as https.AgentOptions['cert'],
        key: asText(o.key) as https.AgentOptions['key'],
        keepAlive: true,
        // No cap (Node's default): the worker's slots bound its requests. With a cap, requests
        // queue for a socket, and a socket handed to a queued request while the previous
        // response is still closing trips node-fetch's false "Premature close" (http.ts): at 64,
        // 1,000 Resources at once saw 11-26 activity retries per burst, and 300 with pipelines as
        // local activities; with no cap, none.
        timeout: 30_000,
      });
      this.agents.set(key, agent);
    }
    context.setAgent(agent);
  }

  /** Closes pooled connections (lets the process exit promptly). */
  destroyAgents(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}

/** A digest of the TLS material itself (Buffers as bytes: JSON of a Buffer is slow and huge). */
function tlsKey(server: string, o: https.AgentOptions): string {
  const h = createHash('sha256').update(server);
  for (const part of [o.ca, o.cert, o.key, o.pfx, o.servername, String(o.rejectUnauthorized)])
    for (const x of [part].flat())
      if (x !== undefined)
        h.update(typeof x === 'string' || Buffer.isBuffer(x) ? x : JSON.stringify(x)).update('\0');
  return h.digest('hex');
}

/** KubernetesObjectApi.makeApiClient, over our configuration. */
class ObjectApi extends k8s.KubernetesObjectApi {
  constructor(config: k8s.Configuration, kc: k8s.KubeConfig) {
    super(config);
    this.setDefaultNamespace(kc);
  }
}

/** API clients built once per process from one KubeConfig. */
export class Kube {
  /** Watch-backed reads of platform objects (the worker sets this; see read-cache.ts). */
  reads?: ReadCache;
  readonly core: k8s.CoreV1Api;
  readonly rbac: k8s.RbacAuthorizationV1Api;
  readonly custom: k8s.CustomObjectsApi;
  readonly apiext: k8s.ApiextensionsV1Api;
  readonly objects: k8s.KubernetesObjectApi;

  constructor(readonly kc: k8s.KubeConfig) {
    const config = apiConfiguration(kc);
    this.core = new k8s.CoreV1Api(config);
    this.rbac = new k8s.RbacAuthorizationV1Api(config);
    this.custom = new k8s.CustomObjectsApi(config);
    this.apiext = new k8s.ApiextensionsV1Api(config);
    this.objects = new ObjectApi(config, kc);
  }

  /** Closes pooled keep-alive connections. */
  close(): void {
    if (this.kc instanceof PooledKubeConfig) this.kc.destroyAgents();
  }

  static fromFile(path?: string): Kube {
    const kc = new PooledKubeConfig();
    if (path) kc.loadFromFile(path);
    else kc.loadFromDefault();
    return new Kube(kc);
  }
}

export const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
export const applyPatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);

export function statusCode(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e?.code === 'number') return e.code;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  return undefined;
}

export const isNotFound = (err: unknown) => statusCode(err) === 404;
export const isConflict = (err: unknown) => statusCode(err) === 409;

/** Short, single-line description of an API error (the body is often a JSON Status string). */
export function describeApiError(err: unknown): string {
  const e = err as { body?: unknown; message?: string };
  if (typeof e?.body === 'string') {
    try {
      const status = JSON.parse(e.body) as { message?: string };
      if (status.message) return status.message;
    } catch {
      /* not JSON */
    }
  }
  return (e?.message ?? String(err)).split('\n')[0]!;
}
