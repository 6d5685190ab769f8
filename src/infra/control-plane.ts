import https from 'node:https';
import { mkdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { resolveBinary } from './binaries.js';
import { generatePki } from './pki.js';
import { freePorts } from './ports.js';
import { ProcessGroup } from './process-group.js';
import { renderKubeconfig } from './kubeconfig.js';
import { waitFor } from './wait.js';

export interface ControlPlane {
  /** https://127.0.0.1:<port> */
  server: string;
  /** Admin kubeconfig (system:masters) written to disk. */
  kubeconfigPath: string;
  caCertFile: string;
  dir: string;
  stop(): Promise<void>;
}

export interface ControlPlaneOptions {
  /** Working directory for data, certs and logs; a temp dir by default (removed on stop). */
  dir?: string;
  /** Where to write the admin kubeconfig; `<dir>/kubeconfig` by default. */
  kubeconfigPath?: string;
  /** Called when etcd or kube-apiserver dies on its own. */
  onCrash?: (name: string, code: number | null) => void;
  /** Keep etcd's data from an earlier run in the same `dir` (default: start empty). */
  keepData?: boolean;
}

function httpsGet(url: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/**
 * Starts etcd + kube-apiserver on free loopback ports, envtest-style: generated certs,
 * RBAC authorization, service-account issuer and keys (TokenRequest works), readiness on /readyz.
 */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const ownDir = !opts.dir;
  const dir = opts.dir ?? mkdtempSync(path.join(tmpdir(), 'kratix-cp-'));
  mkdirSync(dir, { recursive: true });
  const etcdBin = resolveBinary('etcd');
  const apiserverBin = resolveBinary('kube-apiserver');
  const pki = generatePki(path.join(dir, 'pki'));
  const [etcdClient, etcdPeer, apiPort] = (await freePorts(3)) as [number, number, number];
  const server = `https://127.0.0.1:${apiPort}`;

  const group = new ProcessGroup((p, code) => opts.onCrash?.(p.name, code));
  const stop = async () => {
    await group.stop();
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const etcdData = path.join(dir, 'etcd');
    if (!opts.keepData) rmSync(etcdData, { recursive: true, force: true });
    group.start(
      'etcd',
      etcdBin,
      [
        '--name=kratix',
        `--data-dir=${etcdData}`,
        `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
        `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=kratix=http://127.0.0.1:${etcdPeer}`,
        '--unsafe-no-fsync=true',
        '--log-level=warn',
        '--quota-backend-bytes=4294967296',
      ],
      { logFile: path.join(dir, 'etcd.log') },
    );
    await waitFor('etcd /health', async () => {
      const res = await fetch(`http://127.0.0.1:${etcdClient}/health`);
      return res.ok ? true : undefined;
    });

    group.start(
      'kube-apiserver',
      apiserverBin,
      [
        `--etcd-servers=http://127.0.0.1:${etcdClient}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        '--endpoint-reconciler-type=none',
        `--tls-cert-file=${pki.servingCert}`,
        `--tls-private-key-file=${pki.servingKey}`,
        `--client-ca-file=${pki.caCert}`,
        '--authorization-mode=RBAC',
        `--service-account-issuer=${server}`,
        `--service-account-key-file=${pki.saPublicKey}`,
        `--service-account-signing-key-file=${pki.saPrivateKey}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        '--disable-admission-plugins=ServiceAccount',
        '--allow-privileged=true',
        `--cert-dir=${path.join(dir, 'pki')}`,
        '--v=0',
      ],
      { logFile: path.join(dir, 'kube-apiserver.log') },
    );
    const ca = readFileSync(pki.caCert);
    await waitFor(
      'kube-apiserver /readyz',
      async () => ((await httpsGet(`${server}/readyz`, ca)).status === 200 ? true : undefined),
      { timeoutMs: 90_000 },
    );

    const kubeconfigPath = opts.kubeconfigPath ?? path.join(dir, 'kubeconfig');
    mkdirSync(path.dirname(kubeconfigPath), { recursive: true });
    writeFileSync(
      kubeconfigPath,
      renderKubeconfig(server, pki.caCert, {
        name: 'admin',
        clientCertFile: pki.adminCert,
        clientKeyFile: pki.adminKey,
      }),
      { mode: 0o600 },
    );
    return { server, kubeconfigPath, caCertFile: pki.caCert, dir, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
