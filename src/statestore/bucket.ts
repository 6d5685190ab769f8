// BucketStateStore writes: the same folder-replacing contract as git, on any S3-compatible server.
import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  KeyedSerializer,
  planReplace,
  StateStoreAccessError,
  storeDir,
  storePath,
  type AccessErrorKind,
  type StateStoreWriter,
  type WriteRequest,
  type WriteResult,
} from './writer.js';

/** Where a bucket is and how to reach it (the resolved BucketStateStore spec + Secret). */
export interface BucketLocation {
  /** host[:port], or a URL with its scheme. */
  endpoint: string;
  bucketName: string;
  /** Plain HTTP when the endpoint has no scheme (upstream's `insecure`). */
  insecure: boolean;
  /** Static keys (authMethod accessKey); absent for IAM, which uses the SDK's default chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export function endpointUrl(loc: Pick<BucketLocation, 'endpoint' | 'insecure'>): string {
  if (/^https?:\/\//.test(loc.endpoint)) return loc.endpoint;
  return `${loc.insecure ? 'http' : 'https'}://${loc.endpoint}`;
}

const AUTH_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'InvalidToken',
  'ExpiredToken',
  'CredentialsProviderError',
  'AuthorizationHeaderMalformed',
]);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ECONNRESET',
  'TimeoutError',
  'RequestTimeout',
]);

interface SdkError {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** The kind of an S3 client failure, from its error code, HTTP status or network error. */
export function classifyS3Failure(err: unknown): { kind: AccessErrorKind; detail: string } {
  const e = (err ?? {}) as SdkError;
  const code = e.Code ?? e.code ?? e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const text = e.message && e.message !== code && e.message !== 'UnknownError' ? `: ${e.message}` : '';
  const detail = `${code}${status ? ` (HTTP ${status})` : ''}${text}`;
  if (AUTH_CODES.has(code) || status === 401 || status === 403) return { kind: 'auth', detail };
  if (code === 'NoSuchBucket' || (code === 'NotFound' && status === 404)) return { kind: 'notfound', detail };
  if (NETWORK_CODES.has(code) || NETWORK_CODES.has(e.name ?? '')) return { kind: 'unreachable', detail };
  return { kind: 'other', detail };
}

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

/** S3 writes with one client per bucket location; writes to one bucket are serialised. */
export class BucketWriter {
  private readonly clients = new Map<string, S3Client>();
  private readonly serial = new KeyedSerializer();

  private client(loc: BucketLocation): S3Client {
    // Keyed by a digest so a rotated Secret gets a new client and no key sits in a map key.
    const key = createHash('sha256')
      .update(
        JSON.stringify([
          endpointUrl(loc),
          loc.credentials?.accessKeyId ?? '',
          loc.credentials?.secretAccessKey ?? '',
        ]),
      )
      .digest('hex');
    let c = this.clients.get(key);
    if (!c) {
      c = new S3Client({
        endpoint: endpointUrl(loc),
        region: 'us-east-1',
        followRegionRedirects: true,
        // Path-style (host/bucket/key): what S3-compatible servers serve without wildcard DNS.
        forcePathStyle: true,
        // Only the checksums S3 requires: other S3-compatible servers reject the newer ones.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        maxAttempts: 2,
        requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 },
        ...(loc.credentials ? { credentials: loc.credentials } : {}),
      });
      this.clients.set(key, c);
    }
    return c;
  }

  private async call<T>(loc: BucketLocation, what: string, fn: (c: S3Client) => Promise<T>): Promise<T> {
    try {
      return await fn(this.client(loc));
    } catch (err) {
      const { kind, detail } = classifyS3Failure(err);
      throw new StateStoreAccessError(
        `bucket ${loc.bucketName} at ${loc.endpoint}: ${what} failed: ${detail}`,
        kind,
      );
    }
  }

  /** Every key under a prefix with its content digest (the ETag of a single-part upload). */
  private async list(loc: BucketLocation, prefix: string): Promise<Map<string, string | undefined>> {
    const found = new Map<string, string | undefined>();
    let token: string | undefined;
    do {
      const page = await this.call(loc, 'list', (c) =>
        c.send(
          new ListObjectsV2Command({ Bucket: loc.bucketName, Prefix: prefix, ContinuationToken: token }),
        ),
      );
      for (const o of page.Contents ?? []) if (o.Key) found.set(o.Key, o.ETag?.replace(/"/g, ''));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return found;
  }

  write(loc: BucketLocation, req: WriteRequest): Promise<WriteResult> {
    // Destination filepath modes `none` and `aggregatedYAML` change shared files in place; buckets
    // write only the default layout so far. Refused before anything is touched.
    if (req.apply)
      return Promise.reject(
        new StateStoreAccessError(
          'BucketStateStore supports Destination filepath.mode nestedByMetadata only (none and aggregatedYAML need a GitStateStore)',
          'other',
        ),
      );
    return this.serial.run(`${endpointUrl(loc)}/${loc.bucketName}`, async () => {
      const dir = storeDir(req.dir);
      // The trailing slash keeps "a/b" from touching "a/bc".
      const existing = await this.list(loc, `${dir}/`);
      const { put, remove } = planReplace(dir, req.files, existing, md5);
      for (const p of put) {
        await this.call(loc, `put ${p.key}`, (c) =>
          c.send(
            new PutObjectCommand({
              Bucket: loc.bucketName,
              Key: p.key,
              Body: p.content,
              ContentType: 'application/yaml',
            }),
          ),
        );
      }
      for (const key of remove) {
        await this.call(loc, `delete ${key}`, (c) =>
          c.send(new DeleteObjectCommand({ Bucket: loc.bucketName, Key: key })),
        );
      }
      if (put.length === 0 && remove.length === 0) return {};
      const version = createHash('sha256')
        .update(JSON.stringify([put.map((p) => [p.key, md5(p.content)]), remove]))
        .digest('hex');
      return { version };
    });
  }

  async read(loc: BucketLocation, file: string): Promise<string | undefined> {
    const key = storePath(file);
    try {
      const out = await this.client(loc).send(new GetObjectCommand({ Bucket: loc.bucketName, Key: key }));
      return (await out.Body?.transformToString('utf8')) ?? '';
    } catch (err) {
      const e = err as SdkError;
      const code = e.Code ?? e.name;
      // A missing key is an answer; a missing bucket is not.
      if (code === 'NoSuchKey' || (e.$metadata?.httpStatusCode === 404 && code !== 'NoSuchBucket')) {
        return undefined;
      }
      const { kind, detail } = classifyS3Failure(err);
      throw new StateStoreAccessError(
        `bucket ${loc.bucketName} at ${loc.endpoint}: read failed: ${detail}`,
        kind,
      );
    }
  }

  /**
   * Reading and writing allowed, without leaving anything behind: a one-key list, then a multipart
   * upload started and aborted (as upstream checks write permission).
   */
  async check(loc: BucketLocation, prefix: string): Promise<void> {
    await this.call(loc, 'list', (c) =>
      c.send(new ListObjectsV2Command({ Bucket: loc.bucketName, MaxKeys: 1, Prefix: prefix })),
    );
    const Key = `${prefix ? `${prefix.replace(/\/+$/, '')}/` : ''}.kratix-write-permission-check`;
    const upload = await this.call(loc, 'write check', (c) =>
      c.send(new CreateMultipartUploadCommand({ Bucket: loc.bucketName, Key })),
    );
    await this.call(loc, 'write check', (c) =>
      c.send(new AbortMultipartUploadCommand({ Bucket: loc.bucketName, Key, UploadId: upload.UploadId })),
    ).catch(() => undefined);
  }

  bind(loc: BucketLocation, prefix: string): StateStoreWriter {
    return {
      kind: 'BucketStateStore',
      write: (req) => this.write(loc, req),
      read: (file) => this.read(loc, file),
      check: () => this.check(loc, prefix),
    };
  }

  close(): void {
    for (const c of this.clients.values()) c.destroy();
    this.clients.clear();
  }
}
