import path from 'node:path';
import { startCodecServer } from '../temporal/codec-server.js';
import { temporalPayloadCodec } from '../temporal/connection.js';
import { ensureDevPayloadKeys, type PayloadKeySetting } from '../temporal/payload-keys.js';

export interface DevCodec {
  /** The codec endpoint the Web UI is pointed at. */
  url: string;
  keys: PayloadKeySetting;
  activeKeyId: string;
  /** Lets the browser call it from this Web UI (its origin, and the same with `localhost`). */
  allowUi(uiUrl: string): void;
  stop(): Promise<void>;
}

/**
 * Payload encryption for `dev --encrypt-payloads`: the given key directory, or a dev key created
 * once in `<dir>/payload-keys` (kept across runs, so a `--persist` history stays readable), and a
 * codec endpoint on loopback for the dev server's Web UI.
 */
export async function startDevCodec(dir: string, keyDir?: string): Promise<DevCodec> {
  const keys: PayloadKeySetting = keyDir
    ? { path: path.resolve(keyDir), from: '--payload-key-dir' }
    : { path: ensureDevPayloadKeys(path.join(dir, 'payload-keys')), from: '--encrypt-payloads' };
  const codec = temporalPayloadCodec({ address: '', namespace: '', payloadKeys: keys })!;
  const server = await startCodecServer({ codec, listen: '127.0.0.1:0' });
  return {
    url: server.url,
    keys,
    activeKeyId: codec.keys.active().id,
    allowUi(uiUrl) {
      const origin = new URL(uiUrl);
      server.allowOrigin(origin.origin);
      origin.hostname = 'localhost';
      server.allowOrigin(origin.origin);
    },
    stop: () => server.close(),
  };
}
