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
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Generates what a standalone kube-apiserver needs: a CA, a serving cert for 127.0.0.1/localhost,
 * an admin client cert (O=system:masters) and the service-account signing key pair.
 * Uses the openssl CLI because Node's crypto cannot issue X.509 certificates.
 */
export function generatePki(dir: string): Pki {
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
  writeFileSync(p('serving.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
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
  return {
    dir,
    caCert: p('ca.crt'),
    servingCert: p('serving.crt'),
    servingKey: p('serving.key'),
    adminCert: p('admin.crt'),
    adminKey: p('admin.key'),
    saPublicKey: p('sa.pub'),
    saPrivateKey: p('sa.key'),
  };
}

function issue(dir: string, name: string, subject: string, extFile: string): void {
  openssl(
    [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      subject,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
    ],
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
