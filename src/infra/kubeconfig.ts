import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';

export interface KubeconfigUser {
  name: string;
  clientCertFile?: string;
  clientKeyFile?: string;
  token?: string;
}

const b64 = (file: string) => readFileSync(file).toString('base64');

/** A self-contained kubeconfig (certificates inlined) for one cluster and one user. */
export function renderKubeconfig(
  server: string,
  caCertFile: string,
  user: KubeconfigUser,
  namespace?: string,
): string {
  const userEntry: Record<string, string> = {};
  if (user.clientCertFile) userEntry['client-certificate-data'] = b64(user.clientCertFile);
  if (user.clientKeyFile) userEntry['client-key-data'] = b64(user.clientKeyFile);
  if (user.token) userEntry.token = user.token;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'kratix-temporal', cluster: { server, 'certificate-authority-data': b64(caCertFile) } },
    ],
    users: [{ name: user.name, user: userEntry }],
    contexts: [
      {
        name: 'kratix-temporal',
        context: { cluster: 'kratix-temporal', user: user.name, ...(namespace ? { namespace } : {}) },
      },
    ],
    'current-context': 'kratix-temporal',
  });
}
