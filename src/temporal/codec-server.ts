import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { Secret } from './connection.js';

/**
 * Temporal's remote codec protocol over HTTP, for the Web UI and `temporal` CLI: POST /encode and
 * /decode with `{"payloads": [{"metadata": {k: base64}, "data": base64}]}`, answered in kind. The
 * browser calls it from the UI's origin, so CORS allows exactly the configured origins. With a
 * token, requests must carry `Authorization: Bearer <token>` (the UI sends the user's access token
 * with `--ui-codec-pass-access-token`, or a proxy adds it). Payload contents and the token never
 * reach logs.
 */

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** host:port to listen on (port 0: a free one). */
  listen: string;
  /** Origins allowed to call from a browser, e.g. `http://127.0.0.1:8233` (the Web UI). */
  allowedOrigins?: string[];
  /** When set, the bearer token every request must present. */
  authToken?: Secret;
  /** Largest request body accepted (default 16 MiB: a batch of 2 MiB payloads, base64). */
  maxBodyBytes?: number;
}

export interface CodecServer {
  /** http://host:port, the value of the UI's codec endpoint. */
  url: string;
  /** Allow one more browser origin (e.g. a UI whose port is known only later). */
  allowOrigin(origin: string): void;
  close(): Promise<void>;
}

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const b64 = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('base64');

export function toJsonPayload(p: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v)])),
    data: b64(p.data),
  };
}

export function fromJsonPayload(p: JsonPayload): Payload {
  if (typeof p !== 'object' || p === null) throw new BadRequest('each payload must be an object');
  const metadata: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) {
    if (typeof v !== 'string') throw new BadRequest(`metadata ${k} must be a base64 string`);
    metadata[k] = new Uint8Array(Buffer.from(v, 'base64'));
  }
  if (p.data !== undefined && typeof p.data !== 'string')
    throw new BadRequest('data must be a base64 string');
  return { metadata, data: new Uint8Array(Buffer.from(p.data ?? '', 'base64')) };
}

class BadRequest extends Error {}

function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]!.trim());
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

async function readBody(req: IncomingMessage, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) throw new BadRequest(`request body larger than ${max} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startCodecServer(opts: CodecServerOptions): Promise<CodecServer> {
  const origins = new Set(opts.allowedOrigins ?? []);
  const max = opts.maxBodyBytes ?? 16 * 1024 * 1024;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const origin = req.headers.origin;
    if (origin && origins.has(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Vary', 'Origin');
    }
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'OPTIONS') {
      if (origin && origins.has(origin)) {
        res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
        res.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization');
        res.setHeader('Access-Control-Max-Age', '600');
        res.writeHead(204).end();
      } else res.writeHead(403).end();
      return;
    }
    const route = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && route === '/healthz') return send(200, { ok: true });
    if (req.method !== 'POST' || (route !== '/encode' && route !== '/decode'))
      return send(404, { error: 'POST /encode or /decode' });
    if (opts.authToken && !bearerMatches(req.headers.authorization, opts.authToken.reveal()))
      return send(401, { error: 'missing or wrong Authorization: Bearer token' });
    try {
      const body = JSON.parse(await readBody(req, max)) as { payloads?: unknown };
      if (!Array.isArray(body?.payloads)) throw new BadRequest('expected {"payloads": [...]}');
      const payloads = body.payloads.map((p) => fromJsonPayload(p as JsonPayload));
      const out = route === '/encode' ? await opts.codec.encode(payloads) : await opts.codec.decode(payloads);
      send(200, { payloads: out.map(toJsonPayload) });
    } catch (err) {
      // Messages name key ids and what went wrong, never payload contents.
      const bad = err instanceof BadRequest || err instanceof SyntaxError;
      send(bad ? 400 : 422, { error: (err as Error).message });
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  const i = opts.listen.lastIndexOf(':');
  const host = opts.listen.slice(0, i).replace(/^\[|\]$/g, '') || '127.0.0.1';
  const port = Number(opts.listen.slice(i + 1));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    allowOrigin: (o) => void origins.add(o),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
