import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, readFileSync } from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { cacheDir, pinnedVersions } from '../../src/infra/binaries.js';
import { PACKAGE_ROOT } from '../../src/package-root.js';

/** The binary scripts/build-infra.sh s3-server builds (or S3_SERVER_BIN). */
export function s3ServerBinary(): string {
  const override = process.env.S3_SERVER_BIN;
  if (override) return override;
  const main = readFileSync(path.join(PACKAGE_ROOT, 'scripts', 's3-server', 'main.go'));
  const version = `${pinnedVersions().GOFAKES3_VERSION}-${createHash('sha256').update(main).digest('hex').slice(0, 12)}`;
  const bin = path.join(cacheDir(), 'bin', `s3-server-${version}`);
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    throw new Error(
      `${bin} not found: run 'bash scripts/build-infra.sh s3-server' (or 'npm run setup -- --test')`,
    );
  }
  return bin;
}

/**
 * A real S3-compatible HTTP server on a loopback port (gofakes3, in memory, behind a Signature V4
 * check of one key pair): what a BucketStateStore writes to in the tests.
 */
export class S3TestServer {
  private proc?: ChildProcess;
  /** host:port, as a BucketStateStore's spec.endpoint (with insecure: true). */
  endpoint = '';
  readonly accessKeyID = 'kratix-test-key';
  readonly secretAccessKey = 'kratix/test+secret';
  private admin?: S3Client;

  async start(): Promise<void> {
    const proc = spawn(
      s3ServerBinary(),
      ['-listen', '127.0.0.1:0', '-access-key', this.accessKeyID, '-secret-key', this.secretAccessKey],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.proc = proc;
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    this.endpoint = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`s3-server did not start: ${stderr}`)), 10_000);
      proc.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on http:\/\/(\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`s3-server exited (${code}): ${stderr}`));
      });
    });
    this.admin = new S3Client({
      endpoint: `http://${this.endpoint}`,
      region: 'us-east-1',
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      credentials: { accessKeyId: this.accessKeyID, secretAccessKey: this.secretAccessKey },
    });
  }

  async createBucket(name: string): Promise<void> {
    await this.admin!.send(new CreateBucketCommand({ Bucket: name }));
  }

  /** Every key under a prefix, sorted. */
  async keys(bucket: string, prefix = ''): Promise<string[]> {
    const out = await this.admin!.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    return (out.Contents ?? []).map((o) => o.Key!).sort();
  }

  async read(bucket: string, key: string): Promise<string> {
    const out = await this.admin!.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (await out.Body?.transformToString('utf8')) ?? '';
  }

  async stop(): Promise<void> {
    this.admin?.destroy();
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
  }
}
