import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface Pki {
  dir: string;
  caCert: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  saPublicKey: string;
  saPrivateKey: string;
  /** Present when generated for a control plane with a real node (`generatePki(dir, node)`). */
  node?: NodePki;
}

export interface NodePkiOptions {
  /** The host address the node and the API server advertise. */
  hostIp: string;
  nodeName: string;
  /** The `kubernetes` Service's ClusterIP (first address of the service range). */
  serviceIp: string;
}

export interface CertPair {
  cert: string;
  key: string;
}

/** What the node's components need on top of the control plane's certificates. */
export interface NodePki {
  caKey: string;
  /** kubelet's API client identity: CN=system:node:<nodeName>, O=system:nodes (Node authorizer). */
  kubelet: CertPair;
  /** kubelet's serving certificate (SAN hostIp, nodeName), signed by the cluster CA. */
  kubeletServing: CertPair;
  /** kube-apiserver's client identity towards kubelets (logs, exec): O=system:masters. */
  apiserverKubeletClient: CertPair;
  controllerManager: CertPair;
  scheduler: CertPair;
  proxy: CertPair;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Generates what a standalone kube-apiserver needs: a CA, a serving cert for 127.0.0.1/localhost,
 * an admin client cert (O=system:masters) and the service-account signing key pair.
 * With `node`, the serving cert also names the host address, the `kubernetes` Service IP and DNS
 * names (pods reach the API through the Service), and the node's components get their own client
 * certificates (ECDSA P-256: quick to generate).
 * Uses the openssl CLI because Node's crypto cannot issue X.509 certificates.
 */
export function generatePki(dir: string, node?: NodePkiOptions): Pki {
  mkdirSync(dir, { recursive: true });
  const p = (f: string) => path.join(dir, f);
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '3650',
      '-subj',
      '/CN=kratix-temporal-ca',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
    ],
    dir,
  );
  writeFileSync(p('serving.ext'), `subjectAltName=${servingSans(node)}\nextendedKeyUsage=serverAuth\n`);
  issue(dir, 'serving', '/CN=kube-apiserver', 'serving.ext');
  writeFileSync(p('client.ext'), 'extendedKeyUsage=clientAuth\n');
  issue(dir, 'admin', '/O=system:masters/CN=kratix-admin', 'client.ext');
  const sa = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  writeFileSync(p('sa.pub'), sa.publicKey);
  writeFileSync(p('sa.key'), sa.privateKey, { mode: 0o600 });
  const nodePki = node ? generateNodePki(dir, node) : undefined;
  return {
    dir,
    ...(nodePki ? { node: nodePki } : {}),
    caCert: p('ca.crt'),
    servingCert: p('serving.crt'),
    servingKey: p('serving.key'),
    adminCert: p('admin.crt'),
    adminKey: p('admin.key'),
    saPublicKey: p('sa.pub'),
    saPrivateKey: p('sa.key'),
  };
}

/** The API server's serving certificate names. */
export function servingSans(node?: NodePkiOptions): string {
  if (!node) return 'IP:127.0.0.1,DNS:localhost';
  const dns = ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'];
  dns.push('kubernetes.default.svc.cluster.local');
  const ips = [...new Set(['127.0.0.1', node.serviceIp, node.hostIp])];
  return [...ips.map((ip) => `IP:${ip}`), ...dns.map((d) => `DNS:${d}`)].join(',');
}

function generateNodePki(dir: string, node: NodePkiOptions): NodePki {
  const p = (f: string) => path.join(dir, f);
  const client = (name: string, subject: string): CertPair => {
    issue(dir, name, subject, 'client.ext', 'ec');
    return { cert: p(`${name}.crt`), key: p(`${name}.key`) };
  };
  writeFileSync(
    p('kubelet-serving.ext'),
    `subjectAltName=IP:${node.hostIp},DNS:${node.nodeName}\nextendedKeyUsage=serverAuth\n`,
  );
  issue(dir, 'kubelet-serving', `/CN=${node.nodeName}`, 'kubelet-serving.ext', 'ec');
  return {
    caKey: p('ca.key'),
    kubelet: client('kubelet', `/O=system:nodes/CN=system:node:${node.nodeName}`),
    kubeletServing: { cert: p('kubelet-serving.crt'), key: p('kubelet-serving.key') },
    apiserverKubeletClient: client(
      'apiserver-kubelet-client',
      '/O=system:masters/CN=kube-apiserver-kubelet-client',
    ),
    controllerManager: client('kube-controller-manager', '/CN=system:kube-controller-manager'),
    scheduler: client('kube-scheduler', '/CN=system:kube-scheduler'),
    proxy: client('kube-proxy', '/CN=system:kube-proxy'),
  };
}

function issue(
  dir: string,
  name: string,
  subject: string,
  extFile: string,
  keyType: 'rsa' | 'ec' = 'rsa',
): void {
  const newkey =
    keyType === 'rsa'
      ? ['-newkey', 'rsa:2048']
      : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
  openssl(
    ['req', ...newkey, '-nodes', '-subj', subject, '-keyout', `${name}.key`, '-out', `${name}.csr`],
    dir,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '3650',
      '-extfile',
      extFile,
      '-out',
      `${name}.crt`,
    ],
    dir,
  );
}
