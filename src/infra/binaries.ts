import { existsSync, readFileSync, accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../package-root.js';

/** The infrastructure binaries the dev environment and tests run. */
export type InfraBinary =
  | 'temporal'
  | 'kube-apiserver'
  | 'etcd'
  | 'kubectl'
  // The node (src/infra/node.ts): built by `scripts/build-infra.sh node`.
  | 'kubelet'
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'kube-proxy'
  // The OTLP receiver of the tracing test: `scripts/build-infra.sh otelcol` (setup.sh --test).
  | 'otelcol';

/** What a node (kubelet + its control-plane companions) needs beyond the control plane. */
export const NODE_BINARIES: readonly InfraBinary[] = [
  'kubelet',
  'kube-controller-manager',
  'kube-scheduler',
  'kube-proxy',
];

const ENV_OVERRIDE: Record<InfraBinary, string> = {
  temporal: 'TEMPORAL_BIN',
  'kube-apiserver': 'KUBE_APISERVER_BIN',
  etcd: 'ETCD_BIN',
  kubectl: 'KUBECTL_BIN',
  kubelet: 'KUBELET_BIN',
  'kube-controller-manager': 'KUBE_CONTROLLER_MANAGER_BIN',
  'kube-scheduler': 'KUBE_SCHEDULER_BIN',
  'kube-proxy': 'KUBE_PROXY_BIN',
  otelcol: 'OTELCOL_BIN',
};

const VERSION_KEY: Record<InfraBinary, string> = {
  temporal: 'TEMPORAL_CLI_VERSION',
  'kube-apiserver': 'KUBERNETES_VERSION',
  etcd: 'ETCD_VERSION',
  kubectl: 'KUBERNETES_VERSION',
  kubelet: 'KUBERNETES_VERSION',
  'kube-controller-manager': 'KUBERNETES_VERSION',
  'kube-scheduler': 'KUBERNETES_VERSION',
  'kube-proxy': 'KUBERNETES_VERSION',
  otelcol: 'OTELCOL_VERSION',
};

const repoRoot = PACKAGE_ROOT;

/** Pinned versions, read from the same file the build script sources. */
export function pinnedVersions(): Record<string, string> {
  const file = path.join(repoRoot, 'scripts', 'infra-versions.sh');
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(\S+)/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

export function cacheDir(): string {
  return (
    process.env.KRATIX_TEMPORAL_CACHE ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'kratix-temporal')
  );
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    if (dir && existsSync(candidate) && isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Finds a binary: the env override, then the version-keyed build cache, then PATH (kubectl only:
 * the others must match the pinned version exactly). Throws a message saying what to do.
 */
export function resolveBinary(name: InfraBinary): string {
  const envVar = ENV_OVERRIDE[name];
  const override = process.env[envVar];
  if (override) {
    if (!isExecutable(override)) throw new Error(`${envVar}=${override} is not an executable file`);
    return override;
  }
  const version = pinnedVersions()[VERSION_KEY[name]];
  const cached = path.join(cacheDir(), 'bin', `${name}-${version}`);
  if (isExecutable(cached)) return cached;
  const fromPath = onPath(name);
  if (fromPath && (name === 'kubectl' || process.env.KRATIX_TEMPORAL_ALLOW_PATH_BINARIES === '1'))
    return fromPath;
  const setup = NODE_BINARIES.includes(name)
    ? "'bash scripts/setup.sh --node'"
    : name === 'otelcol'
      ? "'bash scripts/setup.sh --test'"
      : "'npm run setup'";
  throw new Error(
    `${name} ${version} not found. Run ${setup} (builds it from Go modules into ${path.dirname(cached)}), ` +
      `or set ${envVar} to an existing ${name} binary.`,
  );
}
