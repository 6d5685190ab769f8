import { readFileSync } from 'node:fs';
import { logger } from '../logger.js';
import { startCodecServer } from '../temporal/codec-server.js';
import {
  resolveTemporalConnection,
  Secret,
  TemporalConfigError,
  temporalPayloadCodec,
} from '../temporal/connection.js';

export interface CodecServerFlags {
  payloadKeyDir?: string;
  listen: string;
  corsOrigin?: string[];
  authTokenFile?: string;
}

/** The bearer token: a file (a mounted Secret) over KRATIX_CODEC_AUTH_TOKEN; none: no check. */
function authToken(o: CodecServerFlags, env: NodeJS.ProcessEnv): Secret | undefined {
  if (o.authTokenFile) {
    let token: string;
    try {
      token = readFileSync(o.authTokenFile, 'utf8').trim();
    } catch (err) {
      throw new TemporalConfigError(
        `cannot read --auth-token-file ${o.authTokenFile}: ${(err as Error).message}`,
      );
    }
    if (!token) throw new TemporalConfigError(`--auth-token-file ${o.authTokenFile} is empty`);
    return new Secret(token, '--auth-token-file');
  }
  const fromEnv = env.KRATIX_CODEC_AUTH_TOKEN?.trim();
  return fromEnv ? new Secret(fromEnv, 'KRATIX_CODEC_AUTH_TOKEN') : undefined;
}

/** `kratix-temporal codec-server`: runs until SIGINT/SIGTERM. */
export async function runCodecServer(
  o: CodecServerFlags,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const codec = temporalPayloadCodec(resolveTemporalConnection({ payloadKeyDir: o.payloadKeyDir }, env));
  if (!codec)
    throw new TemporalConfigError('no payload keys: set --payload-key-dir or KRATIX_TEMPORAL_PAYLOAD_KEYS');
  const token = authToken(o, env);
  const server = await startCodecServer({
    codec,
    listen: o.listen,
    allowedOrigins: o.corsOrigin ?? [],
    ...(token ? { authToken: token } : {}),
  });
  logger.info(
    {
      url: server.url,
      keys: codec.keys.ids(),
      keyDir: codec.keys.setting.path,
      corsOrigins: o.corsOrigin ?? [],
      auth: token ? `bearer token from ${token.from}` : 'none',
    },
    'codec server listening',
  );
  console.log(`codec endpoint: ${server.url}`);
  const stop = async () => {
    await server.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  await new Promise<never>(() => {});
}
