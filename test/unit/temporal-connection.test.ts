import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import {
  connectHint,
  describeTemporalConnection,
  resolveTemporalConnection,
  temporalConnectOptions,
  type TemporalConnectionConfig,
} from '../../src/temporal/connection.js';

const dir = mkdtempSync(path.join(tmpdir(), 'temporal-connection-'));
const pem = (name: string, label = 'CERTIFICATE') => {
  const file = path.join(dir, name);
  writeFileSync(file, `-----BEGIN ${label}-----\n${name}\n-----END ${label}-----\n`);
  return file;
};
const ca = pem('ca.crt');
const cert = pem('client.crt');
const key = pem('client.key', 'PRIVATE KEY');
/** No variables at all: the machine's own TEMPORAL_* must not leak into these tests. */
const noEnv = {};

describe('resolveTemporalConnection', () => {
  it('defaults to plaintext 127.0.0.1:7233, namespace default', () => {
    expect(resolveTemporalConnection({}, noEnv)).toEqual({ address: '127.0.0.1:7233', namespace: 'default' });
  });

  it('reads the Temporal environment variables', () => {
    const c = resolveTemporalConnection(
      {},
      {
        TEMPORAL_ADDRESS: 'temporal.example:7233',
        TEMPORAL_NAMESPACE: 'kratix',
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca,
        TEMPORAL_TLS_CLIENT_CERT_PATH: cert,
        TEMPORAL_TLS_CLIENT_KEY_PATH: key,
        TEMPORAL_TLS_SERVER_NAME: 'frontend.internal',
      },
    );
    expect(c).toEqual({
      address: 'temporal.example:7233',
      namespace: 'kratix',
      tls: {
        serverCa: { path: ca, from: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH' },
        clientCert: { path: cert, from: 'TEMPORAL_TLS_CLIENT_CERT_PATH' },
        clientKey: { path: key, from: 'TEMPORAL_TLS_CLIENT_KEY_PATH' },
        serverName: 'frontend.internal',
      },
    });
  });

  it('takes flags over environment variables', () => {
    const c = resolveTemporalConnection(
      {
        temporalAddress: 'flag:7233',
        temporalNamespace: 'flag-ns',
        temporalTlsCa: '/flag/ca.crt',
        temporalTlsServerName: 'flag.name',
      },
      {
        TEMPORAL_ADDRESS: 'env:7233',
        TEMPORAL_NAMESPACE: 'env-ns',
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/env/ca.crt',
        TEMPORAL_TLS_SERVER_NAME: 'env.name',
      },
    );
    expect(c.address).toBe('flag:7233');
    expect(c.namespace).toBe('flag-ns');
    expect(c.tls).toEqual({
      serverCa: { path: '/flag/ca.crt', from: '--temporal-tls-ca' },
      serverName: 'flag.name',
    });
  });

  it("accepts the Temporal CLI's older variable names, which win over the current ones as in the CLI", () => {
    const c = resolveTemporalConnection(
      {},
      {
        TEMPORAL_TLS_CA: '/old/ca.crt',
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/new/ca.crt',
        TEMPORAL_TLS_CERT: '/old/tls.crt',
        TEMPORAL_TLS_KEY: '/old/tls.key',
      },
    );
    expect(c.tls).toEqual({
      serverCa: { path: '/old/ca.crt', from: 'TEMPORAL_TLS_CA' },
      clientCert: { path: '/old/tls.crt', from: 'TEMPORAL_TLS_CERT' },
      clientKey: { path: '/old/tls.key', from: 'TEMPORAL_TLS_KEY' },
    });
  });

  it('turns TLS on for an API key or TEMPORAL_TLS=true, and off with --no-temporal-tls', () => {
    expect(resolveTemporalConnection({}, { TEMPORAL_API_KEY: 'k' }).tls).toEqual({});
    expect(resolveTemporalConnection({}, { TEMPORAL_TLS: 'true' }).tls).toEqual({});
    expect(resolveTemporalConnection({ temporalTls: true }, noEnv).tls).toEqual({});
    const plain = resolveTemporalConnection({ temporalTls: false }, { TEMPORAL_API_KEY: 'k' });
    expect(plain.tls).toBeUndefined();
    expect(plain.apiKey?.reveal()).toBe('k');
  });

  it('refuses TLS turned off together with TLS files, naming both', () => {
    expect(() => resolveTemporalConnection({ temporalTlsCa: ca }, { TEMPORAL_TLS: 'false' })).toThrow(
      `TLS is turned off (TEMPORAL_TLS=false) but --temporal-tls-ca sets a TLS setting`,
    );
    expect(() => resolveTemporalConnection({}, { TEMPORAL_TLS: 'maybe' })).toThrow(
      'TEMPORAL_TLS=maybe: expected true or false',
    );
  });

  it('refuses a client certificate without its key (and the reverse), naming the flag and variables', () => {
    expect(() => resolveTemporalConnection({ temporalTlsCert: cert }, noEnv)).toThrow(
      'the TLS client certificate is set (--temporal-tls-cert) but the TLS client key is not: set ' +
        '--temporal-tls-key / TEMPORAL_TLS_KEY / TEMPORAL_TLS_CLIENT_KEY_PATH',
    );
    expect(() => resolveTemporalConnection({}, { TEMPORAL_TLS_CLIENT_KEY_PATH: key })).toThrow(
      'the TLS client key is set (TEMPORAL_TLS_CLIENT_KEY_PATH) but the TLS client certificate is not',
    );
  });

  it('refuses certificate contents in variables and host verification turned off', () => {
    expect(() => resolveTemporalConnection({}, { TEMPORAL_TLS_CLIENT_KEY_DATA: 'secret' })).toThrow(
      'TEMPORAL_TLS_CLIENT_KEY_DATA is not supported: give the TLS client key as a file with --temporal-tls-key',
    );
    expect(() => resolveTemporalConnection({}, { TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'true' })).toThrow(
      /not supported by the Temporal TypeScript SDK: set --temporal-tls-server-name/,
    );
  });

  it('reads a Temporal config-file profile only when asked to, below variables and flags', () => {
    const file = path.join(dir, 'temporal.toml');
    writeFileSync(
      file,
      `[profile.default]\naddress = "file:7233"\nnamespace = "file-ns"\n[profile.default.tls]\nserver_ca_cert_path = "${ca}"\n` +
        `[profile.other]\naddress = "other:7233"\n`,
    );
    const c = resolveTemporalConnection({}, { TEMPORAL_CONFIG_FILE: file, TEMPORAL_NAMESPACE: 'env-ns' });
    expect(c.address).toBe('file:7233');
    expect(c.namespace).toBe('env-ns');
    expect(c.tls?.serverCa).toEqual({ path: ca, from: 'the Temporal config file profile "default"' });
    expect(
      resolveTemporalConnection(
        { temporalAddress: 'flag:1' },
        { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'other' },
      ).address,
    ).toBe('flag:1');
    expect(() =>
      resolveTemporalConnection({}, { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'nope' }),
    ).toThrow(/TEMPORAL_PROFILE=nope\): Profile 'nope' not found/);
  });

  it('never shows the API key in JSON, String() or inspect', () => {
    const c = resolveTemporalConnection({}, { TEMPORAL_API_KEY: 'very-secret-key' });
    expect(JSON.stringify(c)).not.toContain('very-secret-key');
    expect(inspect(c, { depth: 5 })).not.toContain('very-secret-key');
    expect(`${c.apiKey}`).toBe('[redacted]');
    expect(describeTemporalConnection(c)).toBe(
      '127.0.0.1:7233 (namespace default, TLS: system CAs, API key from TEMPORAL_API_KEY)',
    );
    expect(temporalConnectOptions(c).apiKey).toBe('very-secret-key');
  });
});

describe('temporalConnectOptions', () => {
  it('reads the certificate files into SDK options', () => {
    const c = resolveTemporalConnection(
      { temporalTlsCa: ca, temporalTlsCert: cert, temporalTlsKey: key },
      noEnv,
    );
    const o = temporalConnectOptions(c);
    expect(o.address).toBe('127.0.0.1:7233');
    expect(Buffer.from(o.tls!.serverRootCACertificate!).toString()).toContain('ca.crt');
    expect(Buffer.from(o.tls!.clientCertPair!.key).toString()).toContain('client.key');
  });

  it('names the flag or variable of a missing key file', () => {
    const missing = path.join(dir, 'missing.key');
    expect(() =>
      temporalConnectOptions(
        resolveTemporalConnection({ temporalTlsCert: cert, temporalTlsKey: missing }, noEnv),
      ),
    ).toThrow(`cannot read the TLS client key ${missing} (set by --temporal-tls-key): no such file`);
    expect(() =>
      temporalConnectOptions(
        resolveTemporalConnection(
          {},
          { TEMPORAL_TLS_CLIENT_CERT_PATH: cert, TEMPORAL_TLS_CLIENT_KEY_PATH: missing },
        ),
      ),
    ).toThrow(
      `cannot read the TLS client key ${missing} (set by TEMPORAL_TLS_CLIENT_KEY_PATH): no such file`,
    );
  });

  it('refuses a file that is not PEM', () => {
    const notPem = path.join(dir, 'ca.der');
    writeFileSync(notPem, Buffer.from([0x30, 0x82, 0x01]));
    expect(() => temporalConnectOptions(resolveTemporalConnection({ temporalTlsCa: notPem }, noEnv))).toThrow(
      `the server's CA certificate ${notPem} (set by --temporal-tls-ca) is not a PEM file`,
    );
  });
});

describe('connectHint', () => {
  const tls: TemporalConnectionConfig = { address: '127.0.0.1:7233', namespace: 'default', tls: {} };
  it('explains TLS failures in terms of the options', () => {
    expect(connectHint(tls, 'InvalidCertificate(UnknownIssuer)')).toMatch(
      /give its CA with --temporal-tls-ca/,
    );
    expect(connectHint(tls, 'self-signed certificate in certificate chain')).toMatch(/--temporal-tls-ca/);
    expect(connectHint(tls, "Hostname/IP does not match certificate's altnames")).toMatch(
      /--temporal-tls-server-name/,
    );
    expect(connectHint(tls, 'received fatal alert: CertificateRequired')).toMatch(
      /requires a client certificate \(mTLS\): give --temporal-tls-cert/,
    );
    expect(connectHint({ ...tls, tls: undefined }, 'Failed to connect before the deadline')).toMatch(
      /If the server requires TLS/,
    );
  });
});
