// The helper inside every pipeline Pod (kubernetes executor), bundled into the pipeline-helper image:
//   input    copies the run's object (mounted from the run Secret) to /kratix/input/object.yaml
//   collect  hands /kratix/output and /kratix/metadata back to the worker through the run Secret
// It runs restricted (non-root, read-only root filesystem), as the pipeline's ServiceAccount, whose
// only extra right is patching this run's Secret. Errors go to the termination message, which the
// worker reads into the object's condition; file contents are never logged.
import { copyFileSync, chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { encodeResult, readPipelineDirs } from '../executors/pipeline-files.js';

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

function input(): void {
  copyFileSync('/kratix/run/object.yaml', '/kratix/input/object.yaml');
  // Pipeline containers may run as any user; seed 000 lets them rewrite the input.
  chmodSync('/kratix/input/object.yaml', 0o666);
}

function patchSecret(name: string, body: unknown): Promise<{ status: number; text: string }> {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) throw new Error('KUBERNETES_SERVICE_HOST is not set: cannot reach the API server');
  const namespace = readFileSync(`${SA_DIR}/namespace`, 'utf8').trim();
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: host.includes(':') ? `[${host}]` : host,
        port,
        method: 'PATCH',
        path: `/api/v1/namespaces/${namespace}/secrets/${encodeURIComponent(name)}`,
        ca: readFileSync(`${SA_DIR}/ca.crt`),
        headers: {
          authorization: `Bearer ${readFileSync(`${SA_DIR}/token`, 'utf8').trim()}`,
          'content-type': 'application/merge-patch+json',
          'content-length': Buffer.byteLength(payload),
        },
        timeout: 30_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(payload);
  });
}

async function collect(): Promise<void> {
  const name = process.env.KRATIX_RESULT_SECRET;
  if (!name) throw new Error('KRATIX_RESULT_SECRET is not set');
  const limit = Number(process.env.KRATIX_RESULT_LIMIT_BYTES) || undefined;
  const files = readPipelineDirs(
    '/kratix/output',
    existsSync('/kratix/metadata') ? '/kratix/metadata' : undefined,
  );
  const body = { data: { result: encodeResult(files, limit).toString('base64') } };
  // The worker grants access to this Secret right after creating the Pod: allow it a moment.
  const deadline = Date.now() + 60_000;
  for (;;) {
    let problem: string;
    try {
      const res = await patchSecret(name, body);
      if (res.status >= 200 && res.status < 300) return;
      problem = `HTTP ${res.status}: ${res.text.slice(0, 300)}`;
      if (![401, 403, 404, 429].includes(res.status) && res.status < 500) throw new Error(problem);
    } catch (err) {
      problem = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`could not hand back the result (Secret ${name}): ${problem}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function main(): Promise<void> {
  const command = process.argv[2];
  if (command === 'input') input();
  else if (command === 'collect') await collect();
  else throw new Error(`usage: pipeline-helper input|collect (got ${command ?? 'nothing'})`);
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  try {
    writeFileSync('/dev/termination-log', message);
  } catch {
    /* not in a Pod */
  }
  console.error(message);
  process.exit(1);
});
