import https from 'node:https';
import { mkdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { hostname, networkInterfaces, tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { resolveBinary } from './binaries.js';
import { generatePki, type CertPair, type NodePki } from './pki.js';
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
  /** Present when started with `node`: what `startNode` needs to join a kubelet to it. */
  node?: NodeAccess;
  stop(): Promise<void>;
  /** Kills kube-apiserver, waits `downMs`, and starts it again on the same port (fault tests). */
  restartApiServer(downMs?: number): Promise<void>;
}

/** The service range of every control plane; its first address is the `kubernetes` Service. */
export const SERVICE_CIDR = '10.0.0.0/24';
export const KUBERNETES_SERVICE_IP = '10.0.0.1';

export interface ControlPlaneNodeOptions {
  /** Address the API server advertises and the kubelet registers; default: the default route's source. */
  hostIp?: string;
  /** Node name (the kubelet's identity system:node:<name>); default: the host name, lowercased. */
  nodeName?: string;
}

export interface NodeAccess {
  hostIp: string;
  nodeName: string;
  serviceCidr: string;
  /** kube-apiserver's port (bound on all addresses; `server` names it on 127.0.0.1). */
  apiPort: number;
  saPrivateKey: string;
  pki: NodePki;
  /** The admin client certificate (system:masters), for the node's own API calls. */
  admin: CertPair;
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
  /**
   * Serve a real node too (see node.ts): bind all addresses and advertise `hostIp`, keep the
   * `kubernetes` Service's endpoints (pods reach the API through it), ServiceAccount admission
   * (projected tokens), Node,RBAC authorization, client certificates for the node's components.
   * Without it the API server is loopback-only and admission-light, envtest-style.
   */
  node?: ControlPlaneNodeOptions;
}

/** The IPv4 source address of the default route, else the first non-internal IPv4 address. */
export function detectHostIp(): string {
  try {
    const out = execFileSync('ip', ['-4', 'route', 'get', '1.1.1.1'], { encoding: 'utf8', stdio: 'pipe' });
    const m = /\bsrc (\d+\.\d+\.\d+\.\d+)/.exec(out);
    if (m) return m[1]!;
  } catch {
    // no default route: fall through
  }
  for (const addrs of Object.values(networkInterfaces()))
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  throw new Error('no host IPv4 address found for the node; pass node.hostIp');
}

/** A valid Node name from the host name (lowercase DNS subdomain). */
export function defaultNodeName(): string {
  const name = hostname()
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return name || 'kratix-temporal-node';
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
  const nodeOpts = opts.node && {
    hostIp: opts.node.hostIp ?? detectHostIp(),
    nodeName: opts.node.nodeName ?? defaultNodeName(),
    serviceIp: KUBERNETES_SERVICE_IP,
  };
  const pki = generatePki(path.join(dir, 'pki'), nodeOpts);
  const [etcdClient, etcdPeer, apiPort] = (await freePorts(3)) as [number, number, number];
  const server = `https://127.0.0.1:${apiPort}`;

  let restarting = false;
  const group = new ProcessGroup((p, code) => {
    if (!(restarting && p.name === 'kube-apiserver')) opts.onCrash?.(p.name, code);
  });
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

    const apiserverArgs = [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      `--secure-port=${apiPort}`,
      `--tls-cert-file=${pki.servingCert}`,
      `--tls-private-key-file=${pki.servingKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--service-account-issuer=${server}`,
      `--service-account-key-file=${pki.saPublicKey}`,
      `--service-account-signing-key-file=${pki.saPrivateKey}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--allow-privileged=true',
      `--cert-dir=${path.join(dir, 'pki')}`,
      '--v=0',
      ...(nodeOpts && pki.node
        ? [
            '--bind-address=0.0.0.0',
            `--advertise-address=${nodeOpts.hostIp}`,
            '--authorization-mode=Node,RBAC',
            `--kubelet-client-certificate=${pki.node.apiserverKubeletClient.cert}`,
            `--kubelet-client-key=${pki.node.apiserverKubeletClient.key}`,
            `--kubelet-certificate-authority=${pki.caCert}`,
            '--kubelet-preferred-address-types=InternalIP,Hostname',
          ]
        : [
            '--bind-address=127.0.0.1',
            '--advertise-address=127.0.0.1',
            '--endpoint-reconciler-type=none',
            '--authorization-mode=RBAC',
            '--disable-admission-plugins=ServiceAccount',
          ]),
    ];
    const ca = readFileSync(pki.caCert);
    const startApiServer = async () => {
      const proc = group.start('kube-apiserver', apiserverBin, apiserverArgs, {
        logFile: path.join(dir, 'kube-apiserver.log'),
      });
      await waitFor(
        'kube-apiserver /readyz',
        async () => ((await httpsGet(`${server}/readyz`, ca)).status === 200 ? true : undefined),
        { timeoutMs: 90_000 },
      );
      return proc;
    };
    let apiserver = await startApiServer();
    /** Stops kube-apiserver, waits `downMs`, starts it again on the same port (fault tests). */
    const restartApiServer = async (downMs = 0) => {
      restarting = true;
      try {
        apiserver.child.kill('SIGKILL'); // a crash: no graceful drain of open watches
        await apiserver.exited;
        await new Promise((r) => setTimeout(r, downMs));
        apiserver = await startApiServer();
      } finally {
        restarting = false;
      }
    };

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
    const node: NodeAccess | undefined =
      nodeOpts && pki.node
        ? {
            hostIp: nodeOpts.hostIp,
            nodeName: nodeOpts.nodeName,
            serviceCidr: SERVICE_CIDR,
            apiPort,
            saPrivateKey: pki.saPrivateKey,
            pki: pki.node,
            admin: { cert: pki.adminCert, key: pki.adminKey },
          }
        : undefined;
    return {
      server,
      kubeconfigPath,
      caCertFile: pki.caCert,
      dir,
      ...(node ? { node } : {}),
      stop,
      restartApiServer,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
