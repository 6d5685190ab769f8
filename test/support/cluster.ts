import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { resolveBinary } from '../../src/infra/binaries.js';

const execFileP = promisify(execFile);

export function testKubeconfigPath(): string {
  const p = process.env.KRATIX_TEST_KUBECONFIG;
  if (!p)
    throw new Error('KRATIX_TEST_KUBECONFIG is not set: run integration tests through jest (global setup)');
  return p;
}

export function testKubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(testKubeconfigPath());
  return kc;
}

/** A fresh namespace per test, so tests can run in parallel without seeing each other's objects. */
export async function createTestNamespace(prefix = 'test'): Promise<string> {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`.toLowerCase();
  await testKubeConfig()
    .makeApiClient(k8s.CoreV1Api)
    .createNamespace({ body: { metadata: { name } } });
  return name;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the pinned kubectl against the test cluster (own discovery cache dir, so new CRDs show up). */
export async function kubectl(
  args: string[],
  opts: { kubeconfig?: string; timeoutMs?: number } = {},
): Promise<KubectlResult> {
  try {
    const { stdout, stderr } = await execFileP(resolveBinary('kubectl'), args, {
      env: {
        ...process.env,
        KUBECONFIG: opts.kubeconfig ?? testKubeconfigPath(),
        KUBECACHEDIR: `${process.env.KRATIX_TEST_DIR ?? '/tmp'}/kubectl-cache-${process.pid}`,
      },
      timeout: opts.timeoutMs ?? 90_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof e.code === 'number' ? e.code : 1,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? String(err),
    };
  }
}
