import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { startTemporalServer, type TemporalServer } from '../../src/infra/temporal-server.js';

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export interface TestCa {
  cert: string;
  /** Issues `<name>.crt` + `<name>.key` (ECDSA P-256) signed by this CA. */
  issue(
    name: string,
    opts: { subject: string; san?: string; usage: 'serverAuth' | 'clientAuth' },
  ): {
    cert: string;
    key: string;
  };
}

/** A throwaway CA made with the openssl CLI (Node's crypto cannot issue X.509 certificates). */
export function makeTestCa(dir: string, name: string): TestCa {
  mkdirSync(dir, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
    ],
    dir,
  );
  return {
    cert: path.join(dir, `${name}.crt`),
    issue(leaf, o) {
      const ext = `${leaf}.ext`;
      writeFileSync(
        path.join(dir, ext),
        `${o.san ? `subjectAltName=${o.san}\n` : ''}extendedKeyUsage=${o.usage}\n`,
      );
      openssl(['req', ...ec, '-subj', o.subject, '-keyout', `${leaf}.key`, '-out', `${leaf}.csr`], dir);
      openssl(
        [
          'x509',
          '-req',
          '-in',
          `${leaf}.csr`,
          '-CA',
          `${name}.crt`,
          '-CAkey',
          `${name}.key`,
          '-CAcreateserial',
          '-days',
          '2',
          '-extfile',
          ext,
          '-out',
          `${leaf}.crt`,
        ],
        dir,
      );
      return { cert: path.join(dir, `${leaf}.crt`), key: path.join(dir, `${leaf}.key`) };
    },
  };
}

export interface TlsFront {
  /** host:port of the TLS listener. */
  address: string;
  close(): Promise<void>;
}

/**
 * A TLS listener (HTTP/2 by ALPN) that forwards the decrypted stream to `target`. With `clientCa`,
 * a client certificate signed by that CA is required (mTLS): the handshake of a client without one
 * fails.
 */
export async function startTlsFront(o: {
  target: string;
  cert: string;
  key: string;
  clientCa?: string;
}): Promise<TlsFront> {
  const [host, port] = splitAddress(o.target);
  const sockets = new Set<net.Socket>();
  const server = tls.createServer(
    {
      cert: readFileSync(o.cert),
      key: readFileSync(o.key),
      ALPNProtocols: ['h2'],
      ...(o.clientCa ? { ca: readFileSync(o.clientCa), requestCert: true, rejectUnauthorized: true } : {}),
    },
    (client) => {
      const upstream = net.connect(port, host);
      sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream).pipe(client);
    },
  );
  // Failed handshakes (no client certificate, unknown CA) are what some tests are about.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port: listening } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${listening}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i), Number(address.slice(i + 1))];
}

export interface TlsTemporal {
  server: TemporalServer;
  namespace: string;
  /** The CA that issued the server and client certificates. */
  ca: string;
  /** A CA nobody trusts here: a client certificate from it is refused. */
  otherCa: TestCa;
  /** TLS only; the server certificate names only `temporal.test` (needs a server name override). */
  tlsAddress: string;
  /** mTLS required; the server certificate names 127.0.0.1 and localhost. */
  mtlsAddress: string;
  client: { cert: string; key: string };
  stop(): Promise<void>;
}

/**
 * A Temporal dev server reachable only over TLS. `temporal server start-dev` (CLI v1.5.1) has no
 * TLS settings (its server config is built in code, and TLS is static config that dynamic config
 * cannot change), so the dev server listens on a loopback port and TLS listeners in front of it
 * terminate TLS and mTLS, as an ingress or a mesh sidecar would in front of a real server.
 */
export async function startTlsTemporal(dir: string): Promise<TlsTemporal> {
  const pki = path.join(dir, 'pki');
  const ca = makeTestCa(pki, 'temporal-ca');
  const named = ca.issue('server-named', {
    subject: '/CN=temporal.test',
    san: 'DNS:temporal.test',
    usage: 'serverAuth',
  });
  const loopback = ca.issue('server-loopback', {
    subject: '/CN=temporal-frontend',
    san: 'IP:127.0.0.1,DNS:localhost',
    usage: 'serverAuth',
  });
  const client = ca.issue('client', { subject: '/CN=kratix-temporal-worker', usage: 'clientAuth' });
  const otherCa = makeTestCa(path.join(dir, 'other-pki'), 'other-ca');
  const server = await startTemporalServer({ dir: path.join(dir, 'temporal') });
  const fronts: TlsFront[] = [];
  try {
    fronts.push(await startTlsFront({ target: server.address, ...named }));
    fronts.push(await startTlsFront({ target: server.address, ...loopback, clientCa: ca.cert }));
  } catch (err) {
    await Promise.all(fronts.map((f) => f.close()));
    await server.stop();
    throw err;
  }
  return {
    server,
    namespace: server.namespace,
    ca: ca.cert,
    otherCa,
    tlsAddress: fronts[0]!.address,
    mtlsAddress: fronts[1]!.address,
    client,
    async stop() {
      await Promise.all(fronts.map((f) => f.close()));
      await server.stop();
    },
  };
}
