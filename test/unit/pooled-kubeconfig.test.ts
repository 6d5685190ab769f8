import https from 'node:https';
import * as k8s from '@kubernetes/client-node';
import { PooledKubeConfig } from '../../src/kube/client.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const pem = (what: string) => `-----BEGIN ${what}-----\nAAAA\n-----END ${what}-----\n`;

function kubeconfig(): PooledKubeConfig {
  const kc = new PooledKubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', caData: b64(pem('CERTIFICATE')) }],
    users: [
      { name: 'alice', certData: b64(pem('CERTIFICATE') + 'a'), keyData: b64(pem('PRIVATE KEY')) },
      { name: 'bob', certData: b64(pem('CERTIFICATE') + 'b'), keyData: b64(pem('PRIVATE KEY')) },
    ],
    contexts: [
      { name: 'as-alice', cluster: 'c', user: 'alice' },
      { name: 'as-bob', cluster: 'c', user: 'bob' },
    ],
    currentContext: 'as-alice',
  });
  return kc;
}

async function agentFor(kc: k8s.KubeConfig): Promise<https.Agent> {
  const ctx = new k8s.RequestContext('https://127.0.0.1:6443/api', k8s.HttpMethod.GET);
  await kc.applySecurityAuthentication(ctx);
  return ctx.getAgent() as https.Agent;
}

describe('PooledKubeConfig (keep-alive connections for the API clients)', () => {
  it('gives every request of one identity the same keep-alive agent, its TLS material as text', async () => {
    const kc = kubeconfig();
    const first = await agentFor(kc);
    expect(await agentFor(kc)).toBe(first);
    expect(first.options).toMatchObject({ keepAlive: true });
    // The pool key Node builds per request concatenates these: text, not Buffers to decode.
    expect(typeof first.options.ca).toBe('string');
    expect(typeof first.options.cert).toBe('string');
    kc.destroyAgents();
  });

  it('another user (other client certificate) gets its own agent', async () => {
    const kc = kubeconfig();
    const alice = await agentFor(kc);
    kc.setCurrentContext('as-bob');
    const bob = await agentFor(kc);
    expect(bob).not.toBe(alice);
    expect(String(bob.options.cert)).toContain('b');
    kc.destroyAgents();
  });
});
