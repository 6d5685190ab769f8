import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import { PayloadKeyError, type PayloadKeyRing } from './payload-keys.js';

// @temporalio/proto is CommonJS: its namespace comes through the default export under ESM.
const ProtoPayload = proto.temporal.api.common.v1.Payload;

/**
 * AES-256-GCM encryption of every Temporal payload (workflow and activity inputs and results,
 * queries, signals, memos, summaries): the server, its database and anyone reading histories
 * without a key see only the key id. Each payload is serialized whole (metadata included, so its
 * original encoding comes back) and sealed with a fresh 96-bit IV; the key id is authenticated
 * too, so a payload cannot be passed off under another key.
 *
 * Failure messages and stack traces are not payloads and stay readable (Temporal's default).
 */

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
export const CIPHER_METADATA = 'encryption-cipher';
const CIPHER = 'AES-256-GCM';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => (b ? new TextDecoder().decode(b) : '');

export class AesGcmPayloadCodec implements PayloadCodec {
  constructor(readonly keys: PayloadKeyRing) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { id, key } = this.keys.active();
    return payloads.map((p) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(id));
      const plain = ProtoPayload.encode(p).finish();
      const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: {
          encoding: utf8(ENCRYPTED_ENCODING),
          [KEY_ID_METADATA]: utf8(id),
          [CIPHER_METADATA]: utf8(CIPHER),
        },
        data: new Uint8Array(sealed),
      };
    });
  }

  /** Payloads not encrypted by this codec (e.g. written before encryption was turned on) pass through. */
  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      if (text(p.metadata?.encoding) !== ENCRYPTED_ENCODING) return p;
      const id = text(p.metadata?.[KEY_ID_METADATA]);
      if (!id) throw new PayloadKeyError(`encrypted payload without ${KEY_ID_METADATA} metadata`);
      const key = this.keys.get(id);
      const data = Buffer.from(p.data ?? []);
      if (data.length < IV_BYTES + TAG_BYTES)
        throw new PayloadKeyError(`encrypted payload (key "${id}") is truncated`);
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(id));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      let plain: Buffer;
      try {
        plain = Buffer.concat([
          decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
          decipher.final(),
        ]);
      } catch {
        throw new PayloadKeyError(
          `encrypted payload (key "${id}") failed authentication: it was altered, or key "${id}" is not the key it was encrypted with`,
        );
      }
      return ProtoPayload.decode(plain);
    });
  }
}
