import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { AesGcmPayloadCodec, ENCRYPTED_ENCODING, KEY_ID_METADATA } from '../../src/temporal/payload-codec.js';
import { ensureDevPayloadKeys, PayloadKeyRing, readPayloadKeys } from '../../src/temporal/payload-keys.js';
import { startCodecServer, toJsonPayload } from '../../src/temporal/codec-server.js';
import {
  resolveTemporalConnection,
  Secret,
  TemporalConfigError,
  temporalDataConverter,
} from '../../src/temporal/connection.js';

const root = mkdtempSync(path.join(tmpdir(), 'payload-codec-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
/** A key directory laid out like a mounted Secret: keys and active-key-id. */
function keyDir(keys: Record<string, string>, active?: string): string {
  const dir = path.join(root, `keys-${n++}`);
  mkdirSync(dir);
  for (const [id, key] of Object.entries(keys)) writeFileSync(path.join(dir, id), key);
  if (active) writeFileSync(path.join(dir, 'active-key-id'), `${active}\n`);
  return dir;
}
const newKey = () => randomBytes(32).toString('base64');
const codecFor = (dir: string) => new AesGcmPayloadCodec(new PayloadKeyRing({ path: dir, from: 'test' }));
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');

const value = { spec: { size: 'large', note: 'top-secret-field-value' } };
const payload = (): Payload => defaultPayloadConverter.toPayload(value);

describe('AesGcmPayloadCodec', () => {
  it('encrypts with the active key and decrypts back to the same payload', async () => {
    const codec = codecFor(keyDir({ k1: newKey() }, 'k1'));
    const [encrypted] = await codec.encode([payload()]);
    expect(text(encrypted!.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(encrypted!.metadata![KEY_ID_METADATA])).toBe('k1');
    expect(Buffer.from(encrypted!.data!).toString('latin1')).not.toContain('top-secret');
    expect(Object.keys(encrypted!.metadata!)).not.toContain('json/plain');
    const [decoded] = await codec.decode([encrypted!]);
    expect(text(decoded!.metadata!.encoding)).toBe('json/plain');
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(value);
  });

  it('uses a fresh IV per payload: the same value encrypts differently', async () => {
    const codec = codecFor(keyDir({ k1: newKey() }));
    const [a, b] = await codec.encode([payload(), payload()]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('passes payloads it did not encrypt through (histories from before encryption)', async () => {
    const codec = codecFor(keyDir({ k1: newKey() }));
    const plain = payload();
    expect(await codec.decode([plain])).toEqual([plain]);
  });

  it('rotation: encrypts with the new active key and still decrypts the old key', async () => {
    const k1 = newKey();
    const before = codecFor(keyDir({ k1 }, 'k1'));
    const [old] = await before.encode([payload()]);
    const after = codecFor(keyDir({ k1, k2: newKey() }, 'k2'));
    const [fresh] = await after.encode([payload()]);
    expect(text(fresh!.metadata![KEY_ID_METADATA])).toBe('k2');
    const decoded = await after.decode([old!, fresh!]);
    expect(decoded.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual([value, value]);
  });

  it('picks up a key added to the directory while running when a payload names it', async () => {
    const k2 = newKey();
    const [fromNewWorker] = await codecFor(keyDir({ k2 }, 'k2')).encode([payload()]);
    const dir = keyDir({ k1: newKey() }, 'k1');
    const codec = codecFor(dir);
    writeFileSync(path.join(dir, 'k2'), k2);
    await new Promise((r) => setTimeout(r, 1_100)); // the ring looks again at most once a second
    const [decoded] = await codec.decode([fromNewWorker!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(value);
  });

  it('fails with a message naming the key id when the key is unknown', async () => {
    const [encrypted] = await codecFor(keyDir({ rotated: newKey() })).encode([payload()]);
    const other = codecFor(keyDir({ k1: newKey() }));
    await expect(other.decode([encrypted!])).rejects.toThrow(
      /payload encrypted with key "rotated", which is not among the known keys \(k1\)/,
    );
  });

  it('detects tampering: altered ciphertext, and a payload relabelled with another key id', async () => {
    const k1 = newKey();
    const dir = keyDir({ k1, k2: k1 }, 'k1');
    const codec = codecFor(dir);
    const [encrypted] = await codec.encode([payload()]);
    const data = Buffer.from(encrypted!.data!);
    data[20] = data[20]! ^ 0x01;
    await expect(codec.decode([{ ...encrypted!, data }])).rejects.toThrow(/key "k1"\) failed authentication/);
    // Same key bytes under another id: the id is authenticated, so the relabelling is caught.
    const relabelled = {
      ...encrypted!,
      metadata: { ...encrypted!.metadata, [KEY_ID_METADATA]: new TextEncoder().encode('k2') },
    };
    await expect(codec.decode([relabelled])).rejects.toThrow(/failed authentication/);
  });
});

describe('payload keys', () => {
  it('reads a mounted Secret (dot entries and symlinks) and hex keys', () => {
    const dir = path.join(root, 'secret-mount');
    const data = path.join(dir, '..2026_01_01');
    mkdirSync(data, { recursive: true });
    writeFileSync(path.join(data, 'a'), randomBytes(32).toString('hex'));
    writeFileSync(path.join(data, 'b'), newKey());
    writeFileSync(path.join(data, 'active-key-id'), 'b');
    symlinkSync('..2026_01_01', path.join(dir, '..data'));
    for (const f of ['a', 'b', 'active-key-id']) symlinkSync(path.join('..data', f), path.join(dir, f));
    const keys = readPayloadKeys({ path: dir, from: 'test' });
    expect(keys.activeKeyId).toBe('b');
    expect([...keys.keys.keys()]).toEqual(['a', 'b']);
  });

  it('a single key file is one key named after the file', () => {
    const dir = keyDir({ solo: newKey() });
    expect(readPayloadKeys({ path: path.join(dir, 'solo'), from: 'test' }).activeKeyId).toBe('solo');
  });

  it('refuses bad settings with messages naming the file and setting', () => {
    expect(() => readPayloadKeys({ path: path.join(root, 'nope'), from: '--payload-key-dir' })).toThrow(
      /cannot read the payload keys .*nope \(set by --payload-key-dir\): no such file/,
    );
    expect(() => readPayloadKeys({ path: keyDir({ short: 'c2hvcnQ=' }), from: 'x' })).toThrow(
      /short is not a 256-bit key/,
    );
    expect(() => readPayloadKeys({ path: keyDir({ a: newKey(), b: newKey() }), from: 'x' })).toThrow(
      /holds 2 keys \(a, b\) but no active-key-id file/,
    );
    expect(() => readPayloadKeys({ path: keyDir({ a: newKey() }, 'zz'), from: 'x' })).toThrow(
      /names key "zz", which is not in/,
    );
    expect(() =>
      temporalDataConverter(
        resolveTemporalConnection({}, { KRATIX_TEMPORAL_PAYLOAD_KEYS: path.join(root, 'missing') }),
      ),
    ).toThrow(TemporalConfigError);
  });

  it('the dev key is created once and kept', () => {
    const dir = path.join(root, 'dev-keys');
    ensureDevPayloadKeys(dir);
    const first = readPayloadKeys({ path: dir, from: 'dev' });
    ensureDevPayloadKeys(dir);
    const second = readPayloadKeys({ path: dir, from: 'dev' });
    expect(second.activeKeyId).toBe('dev-key');
    expect(second.keys.get('dev-key')!.equals(first.keys.get('dev-key')!)).toBe(true);
  });

  it('flag over KRATIX_TEMPORAL_PAYLOAD_KEYS; without either, no codec', () => {
    expect(
      resolveTemporalConnection({ payloadKeyDir: '/flag' }, { KRATIX_TEMPORAL_PAYLOAD_KEYS: '/env' })
        .payloadKeys,
    ).toEqual({ path: '/flag', from: '--payload-key-dir' });
    expect(resolveTemporalConnection({}, { KRATIX_TEMPORAL_PAYLOAD_KEYS: '/env' }).payloadKeys).toEqual({
      path: '/env',
      from: 'KRATIX_TEMPORAL_PAYLOAD_KEYS',
    });
    expect(temporalDataConverter(resolveTemporalConnection({}, {}))).toEqual({});
  });
});

describe('codec server', () => {
  const ui = 'http://127.0.0.1:8233';

  it('decodes and encodes over HTTP, allows the UI origin by CORS and checks the token', async () => {
    const codec = codecFor(keyDir({ k1: newKey() }));
    const server = await startCodecServer({
      codec,
      listen: '127.0.0.1:0',
      allowedOrigins: [ui],
      authToken: new Secret('s3cret', 'test'),
    });
    try {
      const auth = { Authorization: 'Bearer s3cret', 'Content-Type': 'application/json' };
      const encrypted = (await codec.encode([payload()])).map(toJsonPayload);
      const res = await fetch(`${server.url}/decode`, {
        method: 'POST',
        headers: { ...auth, Origin: ui, 'X-Namespace': 'default' },
        body: JSON.stringify({ payloads: encrypted }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe(ui);
      const { payloads } = (await res.json()) as {
        payloads: { metadata: Record<string, string>; data: string }[];
      };
      expect(Buffer.from(payloads[0]!.metadata.encoding!, 'base64').toString()).toBe('json/plain');
      expect(JSON.parse(Buffer.from(payloads[0]!.data, 'base64').toString())).toEqual(value);

      const enc = await fetch(`${server.url}/encode`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ payloads }),
      });
      const back = (await enc.json()) as { payloads: { metadata: Record<string, string> }[] };
      expect(Buffer.from(back.payloads[0]!.metadata.encoding!, 'base64').toString()).toBe(ENCRYPTED_ENCODING);

      const preflight = await fetch(`${server.url}/decode`, {
        method: 'OPTIONS',
        headers: { Origin: ui, 'Access-Control-Request-Method': 'POST' },
      });
      await preflight.arrayBuffer(); // an unread body keeps undici's socket (and jest) alive
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-headers')).toMatch(/X-Namespace/);
      const otherOrigin = await fetch(`${server.url}/decode`, {
        method: 'OPTIONS',
        headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' },
      });
      await otherOrigin.arrayBuffer();
      expect(otherOrigin.status).toBe(403);

      const noToken = await fetch(`${server.url}/decode`, {
        method: 'POST',
        body: JSON.stringify({ payloads: encrypted }),
      });
      await noToken.arrayBuffer();
      expect(noToken.status).toBe(401);
      const bad = await fetch(`${server.url}/decode`, { method: 'POST', headers: auth, body: '{"x":1}' });
      await bad.arrayBuffer();
      expect(bad.status).toBe(400);
    } finally {
      await server.close();
    }
  });

  it('answers an unknown key with an error naming it', async () => {
    const [encrypted] = await codecFor(keyDir({ gone: newKey() })).encode([payload()]);
    const server = await startCodecServer({
      codec: codecFor(keyDir({ k1: newKey() })),
      listen: '127.0.0.1:0',
    });
    try {
      const res = await fetch(`${server.url}/decode`, {
        method: 'POST',
        body: JSON.stringify({ payloads: [toJsonPayload(encrypted!)] }),
      });
      expect(res.status).toBe(422);
      expect(((await res.json()) as { error: string }).error).toMatch(/key "gone"/);
    } finally {
      await server.close();
    }
  });
});
