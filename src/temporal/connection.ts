import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { inspect } from 'node:util';
import { Connection, type ConnectionOptions, type TLSConfig } from '@temporalio/client';
import {
  loadClientConfigProfile,
  type ClientConfigProfile,
  type ConfigDataSource,
} from '@temporalio/envconfig';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import type { DataConverter } from '@temporalio/common';
import { AesGcmPayloadCodec } from './payload-codec.js';
import { PayloadKeyError, PayloadKeyRing, type PayloadKeySetting } from './payload-keys.js';

/**
 * How kratix-temporal reaches Temporal, decided once: address, namespace, TLS (server CA, server
 * name), mTLS (client certificate + key) and an API key, from CLI flags over the environment
 * variables the Temporal CLI and SDKs use (over a Temporal config-file profile, when one is asked
 * for). Every connection (controller, worker, install, replay, the activities that signal
 * workflows) is made from a {@link TemporalConnectionConfig} with {@link connectTemporalClient} or
 * {@link connectTemporalWorker}.
 *
 * Certificates and keys are file paths, read at each connect (a renewed Kubernetes Secret mounted as
 * files is picked up by the next start). Secrets (the API key, gRPC metadata) are held in
 * {@link Secret}, which prints and serializes as `[redacted]`; key file contents never enter the
 * config.
 */

export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_TEMPORAL_NAMESPACE = 'default';

/** A value that must not reach logs: `[redacted]` in JSON, `String()` and `util.inspect`. */
export class Secret<T = string> {
  readonly #value: T;
  /** Where it was set (a flag or an environment variable name), for messages. */
  readonly from: string;
  constructor(value: T, from: string) {
    this.#value = value;
    this.from = from;
  }
  reveal(): T {
    return this.#value;
  }
  toJSON(): string {
    return '[redacted]';
  }
  toString(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return `[redacted, from ${this.from}]`;
  }
}

/** A file setting and where it was set (flag, environment variable or config file), for messages. */
export interface FileSetting {
  path: string;
  from: string;
}

export interface TemporalTlsConfig {
  /** CA of the server certificate; default: the system's trusted CAs (e.g. Temporal Cloud). */
  serverCa?: FileSetting;
  /** The name to verify the server certificate against (and send as SNI) instead of the host. */
  serverName?: string;
  /** Client certificate and key (mTLS): both or neither. */
  clientCert?: FileSetting;
  clientKey?: FileSetting;
}

/** Everything needed to connect; safe to log (see {@link describeTemporalConnection}). */
export interface TemporalConnectionConfig {
  address: string;
  namespace: string;
  /** TLS settings; absent: plaintext. */
  tls?: TemporalTlsConfig;
  apiKey?: Secret;
  /** gRPC metadata sent with every call (`TEMPORAL_GRPC_META_<NAME>`). */
  metadata?: Secret<Record<string, string>>;
  /** Encrypt payloads with the keys here (src/temporal/payload-keys.ts); absent: payloads in clear. */
  payloadKeys?: PayloadKeySetting;
}

/** The CLI flags (`withTemporal` in src/cli/main.ts); `undefined`: not given. */
export interface TemporalConnectionFlags {
  temporalAddress?: string;
  temporalNamespace?: string;
  /** `--temporal-tls` / `--no-temporal-tls`. */
  temporalTls?: boolean;
  temporalTlsCert?: string;
  temporalTlsKey?: string;
  temporalTlsCa?: string;
  temporalTlsServerName?: string;
  temporalApiKey?: string;
  /** `--payload-key-dir`: encrypt payloads with these keys. */
  payloadKeyDir?: string;
}

/** Each setting's flag and environment variables, highest precedence first. */
export const TEMPORAL_SETTINGS = {
  address: { flag: '--temporal-address', env: ['TEMPORAL_ADDRESS'] },
  namespace: { flag: '--temporal-namespace', env: ['TEMPORAL_NAMESPACE'] },
  tls: { flag: '--temporal-tls', env: ['TEMPORAL_TLS'] },
  // The Temporal CLI (v1.4+) lets the older names win over the current ones; so do we.
  clientCert: { flag: '--temporal-tls-cert', env: ['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_CLIENT_CERT_PATH'] },
  clientKey: { flag: '--temporal-tls-key', env: ['TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_CLIENT_KEY_PATH'] },
  serverCa: { flag: '--temporal-tls-ca', env: ['TEMPORAL_TLS_CA', 'TEMPORAL_TLS_SERVER_CA_CERT_PATH'] },
  serverName: { flag: '--temporal-tls-server-name', env: ['TEMPORAL_TLS_SERVER_NAME'] },
  apiKey: { flag: '--temporal-api-key', env: ['TEMPORAL_API_KEY'] },
  payloadKeys: { flag: '--payload-key-dir', env: ['KRATIX_TEMPORAL_PAYLOAD_KEYS'] },
} as const;

type SettingName = keyof typeof TEMPORAL_SETTINGS;

/** "--temporal-tls-key / TEMPORAL_TLS_KEY / TEMPORAL_TLS_CLIENT_KEY_PATH", for messages. */
export function settingNames(name: SettingName): string {
  const s = TEMPORAL_SETTINGS[name];
  return [s.flag, ...s.env].join(' / ');
}

/** Certificate and key contents in variables: refused, files are the supported way. */
const DATA_VARIABLES: Record<string, SettingName> = {
  TEMPORAL_TLS_CLIENT_CERT_DATA: 'clientCert',
  TEMPORAL_TLS_CERT_DATA: 'clientCert',
  TEMPORAL_TLS_CLIENT_KEY_DATA: 'clientKey',
  TEMPORAL_TLS_KEY_DATA: 'clientKey',
  TEMPORAL_TLS_SERVER_CA_CERT_DATA: 'serverCa',
  TEMPORAL_TLS_CA_DATA: 'serverCa',
};

export class TemporalConfigError extends Error {
  override name = 'TemporalConfigError';
}

/**
 * Decides the connection from flags over environment variables over a Temporal config-file
 * profile (read only when `TEMPORAL_CONFIG_FILE` or `TEMPORAL_PROFILE` is set: a developer's
 * `~/.config/temporalio/temporal.toml` must not redirect a local run). Reads no certificate.
 * Throws a {@link TemporalConfigError} naming the flag or variable at fault.
 *
 * TLS is on when asked for (`--temporal-tls`, `TEMPORAL_TLS=true`) or when a CA, server name,
 * client certificate or API key is given; `--no-temporal-tls` / `TEMPORAL_TLS=false` turns it off
 * (an API key is then sent in the clear, e.g. inside a mesh that encrypts).
 */
export function resolveTemporalConnection(
  flags: TemporalConnectionFlags = {},
  env: NodeJS.ProcessEnv = process.env,
): TemporalConnectionConfig {
  for (const [variable, setting] of Object.entries(DATA_VARIABLES)) {
    if (env[variable])
      throw new TemporalConfigError(
        `${variable} is not supported: give ${describeWhat(setting)} as a file with ${settingNames(setting)}`,
      );
  }
  if (parseBool(env, 'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION'))
    throw new TemporalConfigError(
      'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION is not supported by the Temporal TypeScript SDK: set ' +
        `${settingNames('serverName')} to a name the server certificate has`,
    );
  const profile = loadProfile(env);
  const fileLabel = `the Temporal config file profile "${env.TEMPORAL_PROFILE || 'default'}"`;

  const pick = (name: SettingName, flag: string | undefined, fromProfile: string | undefined) => {
    if (flag !== undefined && flag !== '') return { value: flag, from: TEMPORAL_SETTINGS[name].flag };
    for (const variable of TEMPORAL_SETTINGS[name].env) {
      const v = env[variable];
      if (v !== undefined && v !== '') return { value: v, from: variable };
    }
    return fromProfile !== undefined && fromProfile !== ''
      ? { value: fromProfile, from: fileLabel }
      : undefined;
  };
  const file = (name: SettingName, flag: string | undefined, source: ConfigDataSource | undefined) => {
    if (source && !('path' in source))
      throw new TemporalConfigError(
        `${fileLabel} gives ${describeWhat(name)} inline: give it as a file (a *_path key or ${settingNames(name)})`,
      );
    const p = pick(name, flag, source?.path);
    return p && { path: p.value, from: p.from };
  };

  const address = pick('address', flags.temporalAddress, profile.address)?.value ?? DEFAULT_TEMPORAL_ADDRESS;
  const namespace =
    pick('namespace', flags.temporalNamespace, profile.namespace)?.value ?? DEFAULT_TEMPORAL_NAMESPACE;
  const apiKey = pick('apiKey', flags.temporalApiKey, profile.apiKey);
  const tlsSettings: TemporalTlsConfig = {};
  const serverCa = file('serverCa', flags.temporalTlsCa, profile.tls?.serverCACert);
  const clientCert = file('clientCert', flags.temporalTlsCert, profile.tls?.clientCert);
  const clientKey = file('clientKey', flags.temporalTlsKey, profile.tls?.clientKey);
  const serverName = pick('serverName', flags.temporalTlsServerName, profile.tls?.serverName);
  if (serverCa) tlsSettings.serverCa = serverCa;
  if (clientCert) tlsSettings.clientCert = clientCert;
  if (clientKey) tlsSettings.clientKey = clientKey;
  if (serverName) tlsSettings.serverName = serverName.value;

  if (!!clientCert !== !!clientKey) {
    const [given, missing] = clientCert
      ? (['clientCert', 'clientKey'] as const)
      : (['clientKey', 'clientCert'] as const);
    const set = (clientCert ?? clientKey)!;
    throw new TemporalConfigError(
      `${describeWhat(given)} is set (${set.from}) but ${describeWhat(missing)} is not: set ${settingNames(missing)}`,
    );
  }

  const explicitTls =
    flags.temporalTls !== undefined
      ? { on: flags.temporalTls, from: flags.temporalTls ? '--temporal-tls' : '--no-temporal-tls' }
      : parseBool(env, 'TEMPORAL_TLS') !== undefined
        ? { on: parseBool(env, 'TEMPORAL_TLS')!, from: `TEMPORAL_TLS=${env.TEMPORAL_TLS}` }
        : profile.tls?.disabled !== undefined
          ? { on: !profile.tls.disabled, from: fileLabel }
          : undefined;
  const tlsGiven = [serverCa, clientCert, serverName].find(Boolean);
  if (explicitTls?.on === false && tlsGiven)
    throw new TemporalConfigError(
      `TLS is turned off (${explicitTls.from}) but ${tlsGiven.from} sets a TLS setting`,
    );
  const tlsOn = explicitTls?.on ?? (tlsGiven !== undefined || apiKey !== undefined);
  const payloadKeys = pick('payloadKeys', flags.payloadKeyDir, undefined);

  return {
    address,
    namespace,
    ...(tlsOn ? { tls: tlsSettings } : {}),
    ...(apiKey ? { apiKey: new Secret(apiKey.value, apiKey.from) } : {}),
    ...(profile.grpcMeta && Object.keys(profile.grpcMeta).length
      ? { metadata: new Secret(profile.grpcMeta, 'TEMPORAL_GRPC_META_*') }
      : {}),
    ...(payloadKeys ? { payloadKeys: { path: payloadKeys.value, from: payloadKeys.from } } : {}),
  };
}

/** A plaintext connection to a local server (dev server, tests). */
export function plainTemporalConnection(
  address: string,
  namespace = DEFAULT_TEMPORAL_NAMESPACE,
): TemporalConnectionConfig {
  return { address, namespace };
}

function loadProfile(env: NodeJS.ProcessEnv): ClientConfigProfile {
  const useFile = !!(env.TEMPORAL_CONFIG_FILE || env.TEMPORAL_PROFILE);
  try {
    return loadClientConfigProfile({
      disableFile: !useFile,
      overrideEnvVars: Object.fromEntries(
        Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined),
      ),
    });
  } catch (err) {
    throw new TemporalConfigError(
      `Temporal client config (TEMPORAL_CONFIG_FILE=${env.TEMPORAL_CONFIG_FILE ?? ''}, ` +
        `TEMPORAL_PROFILE=${env.TEMPORAL_PROFILE ?? ''}): ${(err as Error).message}`,
    );
  }
}

function parseBool(env: NodeJS.ProcessEnv, variable: string): boolean | undefined {
  const v = env[variable]?.trim().toLowerCase();
  if (v === undefined || v === '') return undefined;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new TemporalConfigError(`${variable}=${env[variable]}: expected true or false`);
}

function describeWhat(name: SettingName): string {
  switch (name) {
    case 'clientCert':
      return 'the TLS client certificate';
    case 'clientKey':
      return 'the TLS client key';
    case 'serverCa':
      return "the server's CA certificate";
    default:
      return name;
  }
}

function readPem(setting: FileSetting, what: SettingName): Buffer {
  let data: Buffer;
  try {
    data = readFileSync(setting.path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const reason =
      e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.message;
    throw new TemporalConfigError(
      `cannot read ${describeWhat(what)} ${setting.path} (set by ${setting.from}): ${reason}`,
    );
  }
  if (!data.includes('-----BEGIN '))
    throw new TemporalConfigError(
      `${describeWhat(what)} ${setting.path} (set by ${setting.from}) is not a PEM file`,
    );
  return data;
}

/** What both `Connection.connect` (@temporalio/client) and `NativeConnection.connect` take. */
export interface TemporalConnectOptions {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
  metadata?: Record<string, string>;
}

/** The SDK connection options, certificates and key read from their files now. */
export function temporalConnectOptions(config: TemporalConnectionConfig): TemporalConnectOptions {
  const options: TemporalConnectOptions = { address: config.address };
  const t = config.tls;
  if (t) {
    options.tls = {
      ...(t.serverName ? { serverNameOverride: t.serverName } : {}),
      ...(t.serverCa ? { serverRootCACertificate: readPem(t.serverCa, 'serverCa') } : {}),
      ...(t.clientCert && t.clientKey
        ? {
            clientCertPair: {
              crt: readPem(t.clientCert, 'clientCert'),
              key: readPem(t.clientKey, 'clientKey'),
            },
          }
        : {}),
    };
  }
  if (config.apiKey) options.apiKey = config.apiKey.reveal();
  if (config.metadata) options.metadata = config.metadata.reveal();
  return options;
}

/** One line for logs and messages: where, which namespace, which TLS files; never a secret. */
export function describeTemporalConnection(config: TemporalConnectionConfig): string {
  const parts = [`${config.address} (namespace ${config.namespace}`];
  const t = config.tls;
  if (!t) parts.push('plaintext');
  else {
    const tlsParts = [
      t.serverCa ? `CA ${t.serverCa.path}` : 'system CAs',
      ...(t.serverName ? [`server name ${t.serverName}`] : []),
      ...(t.clientCert ? [`client certificate ${t.clientCert.path}`] : []),
    ];
    parts.push(`TLS: ${tlsParts.join(', ')}`);
  }
  if (config.apiKey) parts.push(`API key from ${config.apiKey.from}`);
  if (config.payloadKeys) parts.push(`payloads encrypted with the keys in ${config.payloadKeys.path}`);
  return `${parts.join(', ')})`;
}

/** One key ring per key setting and process: clients made per activity do not re-read the keys. */
const keyRings = new Map<string, PayloadKeyRing>();

/** The payload codec of `config`: encryption with its keys, or undefined (payloads in clear). */
export function temporalPayloadCodec(config: TemporalConnectionConfig): AesGcmPayloadCodec | undefined {
  const setting = config.payloadKeys;
  if (!setting) return undefined;
  let ring = keyRings.get(setting.path);
  if (!ring) {
    try {
      ring = new PayloadKeyRing(setting);
    } catch (err) {
      if (err instanceof PayloadKeyError) throw new TemporalConfigError(err.message);
      throw err;
    }
    keyRings.set(setting.path, ring);
  }
  return new AesGcmPayloadCodec(ring);
}

/**
 * The data converter every client and worker of `config` uses (`dataConverter` of `new Client`,
 * `Worker.create`, `Worker.runReplayHistories`): the SDK default, plus payload encryption when
 * keys are set.
 */
export function temporalDataConverter(config: TemporalConnectionConfig): DataConverter {
  const codec = temporalPayloadCodec(config);
  return codec ? { payloadCodecs: [codec] } : {};
}

/** A @temporalio/client connection (controller, install, replay, activities, tests). */
export async function connectTemporalClient(
  config: TemporalConnectionConfig,
  extra: Omit<ConnectionOptions, keyof TemporalConnectOptions> = {},
): Promise<Connection> {
  const options = temporalConnectOptions(config);
  try {
    return await Connection.connect({ ...extra, ...options });
  } catch (err) {
    // grpc-js only says "Failed to connect before the deadline": a TLS handshake of our own finds out why.
    const detail = config.tls ? await probeTls(config, options) : undefined;
    throw connectError(config, err, detail);
  }
}

/** A @temporalio/worker connection (the worker). */
export async function connectTemporalWorker(
  config: TemporalConnectionConfig,
  extra: Omit<NativeConnectionOptions, keyof TemporalConnectOptions> = {},
): Promise<NativeConnection> {
  const options = temporalConnectOptions(config);
  try {
    return await NativeConnection.connect({ ...extra, ...options });
  } catch (err) {
    throw connectError(config, err);
  }
}

export class TemporalConnectError extends Error {
  override name = 'TemporalConnectError';
}

/** The failure with what it likely means in terms of our flags. */
function connectError(config: TemporalConnectionConfig, err: unknown, detail?: string): Error {
  const cause = [(err as Error).message ?? String(err), detail].filter(Boolean).join('; TLS handshake: ');
  const hint = connectHint(config, cause);
  return new TemporalConnectError(
    `cannot connect to Temporal at ${describeTemporalConnection(config)}: ${cause}${hint ? `. ${hint}` : ''}`,
    { cause: err },
  );
}

/** Turns the TLS errors of rustls (worker) and OpenSSL (client probe) into what to change. */
export function connectHint(config: TemporalConnectionConfig, message: string): string | undefined {
  const t = config.tls;
  if (!t)
    return /broken pipe|connection reset|deadline|closed|InvalidContentType|http2/i.test(message)
      ? `If the server requires TLS, turn it on with ${settingNames('tls')} or give its CA with ${settingNames('serverCa')}`
      : undefined;
  if (/UnknownIssuer|self[- ]signed|local issuer|unable to verify|unable to get issuer/i.test(message))
    return t.serverCa
      ? `The server's certificate is not signed by the CA in ${t.serverCa.path} (${t.serverCa.from})`
      : `The server's certificate is not signed by a CA this machine trusts: give its CA with ${settingNames('serverCa')}`;
  if (/NotValidForName|altnames|does not match certificate|Hostname\/IP/i.test(message))
    return `The server's certificate does not name the host in ${config.address}: set ${settingNames('serverName')} to a name it has`;
  const required = `The server requires a client certificate (mTLS): give ${settingNames('clientCert')} and ${settingNames('clientKey')}`;
  if (/CertificateRequired|certificate required/i.test(message)) return required;
  if (
    /UnknownCA|unknown ca|BadCertificate|bad certificate|CertificateUnknown|certificate unknown/i.test(
      message,
    )
  )
    return t.clientCert
      ? `The server refused the client certificate ${t.clientCert.path} (${t.clientCert.from}): it must be signed by a CA the server trusts for clients`
      : required;
  // A server that refuses the client (certificate) may just close the connection, before or after
  // its alert reaches us.
  if (
    /ConnectionReset|connection reset|ECONNRESET|socket hang up|connection closed|closed the connection|broken pipe|peer closed connection|UnexpectedEof/i.test(
      message,
    )
  )
    return t.clientCert
      ? `The server closed the connection after the TLS handshake: it may not accept the client certificate ${t.clientCert.path} (${t.clientCert.from})`
      : `The server closed the connection after the TLS handshake: it may require a client certificate (mTLS): give ${settingNames('clientCert')} and ${settingNames('clientKey')}`;
  if (/InvalidContentType|wrong version number|packet length too long|InvalidMessage/i.test(message))
    return `The server does not speak TLS at ${config.address}: drop the TLS settings or turn TLS off (--no-temporal-tls)`;
  return undefined;
}

/**
 * A TLS handshake with the settings of `options` (then an HTTP/2 preface: a TLS 1.3 server
 * refuses a missing client certificate only after the handshake). Returns the error, or
 * undefined if the server answered.
 */
async function probeTls(
  config: TemporalConnectionConfig,
  options: TemporalConnectOptions,
): Promise<string | undefined> {
  const i = config.address.lastIndexOf(':');
  const host = config.address.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(config.address.slice(i + 1));
  const t = options.tls ?? {};
  const servername = t.serverNameOverride ?? (net.isIP(host) ? undefined : host);
  return new Promise((resolve) => {
    const socket = tls.connect({
      host,
      port,
      ...(servername ? { servername } : {}),
      ALPNProtocols: ['h2'],
      ...(t.serverRootCACertificate ? { ca: Buffer.from(t.serverRootCACertificate) } : {}),
      ...(t.clientCertPair
        ? { cert: Buffer.from(t.clientCertPair.crt), key: Buffer.from(t.clientCertPair.key) }
        : {}),
      checkServerIdentity: (_host, cert) => tls.checkServerIdentity(servername ?? host, cert),
    });
    const done = (result: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done(undefined), 5_000);
    socket.once('error', (e) => done(e.message));
    socket.once('secureConnect', () => {
      // HTTP/2 client preface and an empty SETTINGS frame.
      socket.write(
        Buffer.concat([
          Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
          Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]),
        ]),
      );
    });
    socket.once('data', () => done(undefined));
    socket.once('end', () => done('the server closed the connection'));
  });
}
