import { createHash } from 'node:crypto';
import https from 'node:https';
import {
  accessSync,
  appendFileSync,
  constants,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { resolveBinary } from './binaries.js';
import { KUBERNETES_SERVICE_IP, type ControlPlane, type NodeAccess } from './control-plane.js';
import { nodeImages, PAUSE_IMAGE } from './images.js';
import { renderKubeconfig } from './kubeconfig.js';
import * as host from './node-host.js';
import { ctr, importImage, listImages, type OciArchive } from './oci-image.js';
import { freePorts } from './ports.js';
import { ProcessGroup, type ManagedProcess } from './process-group.js';
import { waitFor } from './wait.js';

/**
 * A real one-node Kubernetes on this machine, joined to a control plane started with `node`
 * (control-plane.ts): containerd + runc + CNI bridge, kube-controller-manager, kube-scheduler,
 * kube-proxy (iptables) and the kubelet, all children of this process (setpriv --pdeathsig).
 * Images come from local archives (no registry): the pause and toolbox images (images.ts) are
 * imported before the kubelet starts; `loadImage` imports more.
 *
 * Needs root, cgroups, iptables and the packages `scripts/setup.sh --node` installs. Only one node
 * can run on a machine at a time (the bridge, pod network and iptables chains are host-wide).
 */

/** The pod network (host-local IPAM on the bridge). */
export const POD_CIDR = '10.244.0.0/24';
export const CNI_NETWORK = 'kratix-temporal';
export const CNI_BRIDGE = 'kratix0';
/** Which node, if any, owns the host's pod network: `{ pid, dir }`. */
const HOST_LOCK = '/run/kratix-temporal-node.json';
const CNI_BIN_DIRS = ['/usr/lib/cni', '/opt/cni/bin'];
const CNI_CACHE = '/var/lib/cni';
const KUBELET_CONTAINER_LOGS = '/var/log/containers';
const SHIM_SOCKETS = '/run/containerd/s';
/** The kubelet's device plugin socket ignores --root-dir. */
const DEVICE_PLUGINS = '/var/lib/kubelet/device-plugins';

export interface NodeOptions {
  /** Started with the `node` option. */
  controlPlane: ControlPlane;
  /** State directory: containerd, kubelet, CNI state, configs and one log file per component. */
  dir: string;
  /** Called when a node component dies on its own after the node started. */
  onCrash?: (name: string, code: number | null) => void;
  /** More image archives to import before the kubelet starts. */
  images?: string[];
}

export interface RunningNode {
  nodeName: string;
  /** containerd's CRI socket; `ctr --address <it> -n k8s.io ...` */
  containerdSocket: string;
  dir: string;
  /** Imports an image archive (OCI layout or `docker save` tar) for pods to use. */
  loadImage(archivePath: string): Promise<void>;
  /**
   * Deletes all pods through the API (the kubelet runs CNI DEL), stops every component and removes
   * what the node put on the host: processes, mounts, iptables KUBE-* chains, the bridge, IPAM
   * state, sysctl changes. Call it before stopping the control plane.
   */
  stop(): Promise<void>;
}

/** What a node records in `<dir>/node.json` while it runs (removed by a clean stop). */
export interface NodeState {
  pid: number;
  nodeName: string;
  containerdSocket: string;
  /** Host sysctls before the node changed them. */
  sysctls: Record<string, string>;
}

export interface NodePaths {
  dir: string;
  state: string;
  containerd: string;
  containerdRoot: string;
  containerdState: string;
  containerdConfig: string;
  runcRoot: string;
  socket: string;
  cniConfDir: string;
  conflist: string;
  ipamDir: string;
  kubeletRoot: string;
  kubeletConfig: string;
  manifests: string;
  podLogs: string;
  volumePlugins: string;
  kubeconfigs: string;
}

export function nodePaths(dir: string): NodePaths {
  const d = path.resolve(dir);
  const containerd = path.join(d, 'containerd');
  return {
    dir: d,
    state: path.join(d, 'node.json'),
    containerd,
    containerdRoot: path.join(containerd, 'root'),
    containerdState: path.join(containerd, 'state'),
    containerdConfig: path.join(containerd, 'config.toml'),
    runcRoot: path.join(containerd, 'runc'),
    socket: path.join(containerd, 'containerd.sock'),
    cniConfDir: path.join(d, 'cni', 'net.d'),
    conflist: path.join(d, 'cni', 'net.d', `10-${CNI_NETWORK}.conflist`),
    ipamDir: path.join(d, 'cni', 'ipam'),
    kubeletRoot: path.join(d, 'kubelet'),
    kubeletConfig: path.join(d, 'kubelet-config.yaml'),
    manifests: path.join(d, 'manifests'),
    podLogs: path.join(d, 'pod-logs'),
    volumePlugins: path.join(d, 'volume-plugins'),
    kubeconfigs: path.join(d, 'kubeconfigs'),
  };
}

/** The state of the node running (or crashed) in `dir`, if any. */
export function readNodeState(dir: string): NodeState | undefined {
  return readJson<NodeState>(nodePaths(dir).state);
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// configuration files

const tomlString = (s: string) => JSON.stringify(s);

/** containerd: private socket, root and state; CRI with our pause image, cgroupfs, overlayfs. */
export function containerdConfig(p: NodePaths, cniBinDir: string, sandboxImage = PAUSE_IMAGE): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = ${tomlString(p.containerdRoot)}
state = ${tomlString(p.containerdState)}
oom_score = 0
# opt would create /opt/containerd; the rest are snapshotters and tracing we do not use
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = ${tomlString(p.socket)}

[debug]
  address = ""

[metrics]
  address = ""

[${cri}]
  sandbox_image = ${tomlString(sandboxImage)}
  # no CAP_SYS_RESOURCE in every environment: a negative oom_score_adj would fail each sandbox
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  tolerate_missing_hugetlb_controller = true
  disable_hugetlb_controller = true
  # pod network namespaces under our state dir, not /run/netns: a cleanup finds exactly ours
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

[${cri}.cni]
  bin_dir = ${tomlString(cniBinDir)}
  conf_dir = ${tomlString(p.cniConfDir)}
  max_conf_num = 1

[${cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[${cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false
  Root = ${tomlString(p.runcRoot)}
`;
}

interface CniConflist {
  cniVersion: string;
  name: string;
  plugins: ({ type: string } & Record<string, unknown>)[];
}

/** The pod network: a bridge with host-local IPAM (state under the node dir) and portmap. */
export function cniConflist(ipamDir: string): CniConflist {
  return {
    cniVersion: '1.0.0',
    name: CNI_NETWORK,
    plugins: [
      {
        type: 'bridge',
        bridge: CNI_BRIDGE,
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: POD_CIDR }]],
          routes: [{ dst: '0.0.0.0/0' }],
          dataDir: ipamDir,
        },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
}

export interface KubeletConfigInput {
  paths: NodePaths;
  hostIp: string;
  port: number;
  healthzPort: number;
  clientCaFile: string;
  servingCert: string;
  servingKey: string;
}

/** KubeletConfiguration: cgroupfs, everything under the node dir, quick status updates. */
export function kubeletConfig(i: KubeletConfigInput): Record<string, unknown> {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: i.hostIp,
    port: i.port,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: i.healthzPort,
    tlsCertFile: i.servingCert,
    tlsPrivateKeyFile: i.servingKey,
    rotateCertificates: false,
    serverTLSBootstrap: false,
    // only holders of a certificate from the cluster CA (the API server) may call the kubelet
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: false },
      x509: { clientCAFile: i.clientCaFile },
    },
    authorization: { mode: 'AlwaysAllow' },
    containerRuntimeEndpoint: `unix://${i.paths.socket}`,
    cgroupDriver: 'cgroupfs',
    cgroupsPerQOS: true,
    failCgroupV1: false,
    failSwapOn: false,
    staticPodPath: i.paths.manifests,
    podLogsDir: i.paths.podLogs,
    volumePluginDir: i.paths.volumePlugins,
    resolvConf: '/etc/resolv.conf',
    syncFrequency: '10s',
    fileCheckFrequency: '5s',
    nodeStatusUpdateFrequency: '5s',
    // never garbage-collect images: they come from local archives, not a registry
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: {
      'memory.available': '100Mi',
      'nodefs.available': '1%',
      'nodefs.inodesFree': '1%',
      'imagefs.available': '1%',
      'imagefs.inodesFree': '1%',
    },
    serializeImagePulls: false,
    kubeAPIQPS: 50,
    kubeAPIBurst: 100,
    shutdownGracePeriod: '0s',
  };
}

// ---------------------------------------------------------------------------------------------
// prerequisites

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d && executable(path.join(d, name)));
}

/** The CNI plugin directory; throws naming everything missing. */
function checkPrerequisites(): string {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (a node needs it)');
  for (const cmd of [
    'containerd',
    'containerd-shim-runc-v2',
    'ctr',
    'runc',
    'iptables',
    'iptables-save',
    'iptables-restore',
    'ip',
    'nsenter',
    'umount',
  ])
    if (!onPath(cmd)) missing.push(cmd);
  const cniBin = CNI_BIN_DIRS.find((d) =>
    ['bridge', 'host-local', 'portmap', 'loopback'].every((b) => executable(path.join(d, b))),
  );
  if (!cniBin)
    missing.push(`CNI plugins bridge, host-local, portmap, loopback (in ${CNI_BIN_DIRS.join(' or ')})`);
  if (missing.length)
    throw new Error(
      `a node needs: ${missing.join(', ')}. Run 'bash scripts/setup.sh --node' (Debian packages containerd runc containernetworking-plugins iptables).`,
    );
  return cniBin!;
}

// ---------------------------------------------------------------------------------------------
// cleanup (after a clean stop and after a crash)

/** host-local IPAM allocations: IP -> container (sandbox) id. */
function ipamAllocations(ipamDir: string): Map<string, string> {
  const out = new Map<string, string>();
  const netDir = path.join(ipamDir, CNI_NETWORK);
  if (!existsSync(netDir)) return out;
  for (const f of readdirSync(netDir)) {
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(f)) continue;
    const id = readFileSync(path.join(netDir, f), 'utf8').split(/\r?\n/)[0]?.trim();
    if (id) out.set(f, id);
  }
  return out;
}

/** Runs the conflist's plugins with CNI_COMMAND=DEL, as the runtime would. */
async function cniDel(
  conflist: CniConflist,
  cniBin: string,
  containerId: string,
  netns: string,
): Promise<void> {
  for (const plugin of [...conflist.plugins].reverse()) {
    await host.run(path.join(cniBin, plugin.type), [], {
      input: JSON.stringify({ cniVersion: conflist.cniVersion, name: conflist.name, ...plugin }),
      env: {
        ...process.env,
        CNI_COMMAND: 'DEL',
        CNI_CONTAINERID: containerId,
        CNI_NETNS: netns,
        CNI_IFNAME: 'eth0',
        CNI_PATH: cniBin,
      },
      timeoutMs: 20_000,
    });
  }
}

/**
 * Tears down pod networks the runtime did not (it was killed): CNI DEL for every network
 * namespace still mounted under the node dir and every IPAM allocation left.
 */
async function teardownPodNetworks(p: NodePaths): Promise<void> {
  const conflist = readJson<CniConflist>(p.conflist);
  const cniBin = CNI_BIN_DIRS.find((d) => executable(path.join(d, 'bridge')));
  if (!conflist || !cniBin) return;
  const allocations = ipamAllocations(p.ipamDir);
  const done = new Set<string>();
  for (const m of host.currentMountsUnder(p.dir).filter((x) => x.fsType === 'nsfs')) {
    const r = await host.run('nsenter', [
      `--net=${m.mountPoint}`,
      'ip',
      '-4',
      '-o',
      'addr',
      'show',
      'dev',
      'eth0',
    ]);
    const ip = /\binet (\d+\.\d+\.\d+\.\d+)\//.exec(r.stdout)?.[1];
    const id = ip ? allocations.get(ip) : undefined;
    if (!id || done.has(id)) continue;
    await cniDel(conflist, cniBin, id, m.mountPoint);
    done.add(id);
  }
  for (const id of new Set(allocations.values())) if (!done.has(id)) await cniDel(conflist, cniBin, id, '');
}

/** Pod sandboxes containerd's CRI knows of (running or not) and those holding an IP address. */
function sandboxIds(p: NodePaths): Set<string> {
  const ids = new Set(ipamAllocations(p.ipamDir).values());
  for (const base of [p.containerdState, p.containerdRoot]) {
    const d = path.join(base, 'io.containerd.grpc.v1.cri', 'sandboxes');
    if (existsSync(d)) for (const id of readdirSync(d)) ids.add(id);
  }
  return ids;
}

/** The names containerd 1.6 gives shim sockets: sha256(<containerd address>/<namespace>/<id>). */
function removeShimSockets(p: NodePaths): void {
  const taskDir = path.join(p.containerdState, 'io.containerd.runtime.v2.task');
  if (!existsSync(taskDir)) return;
  for (const ns of readdirSync(taskDir))
    for (const id of readdirSync(path.join(taskDir, ns))) {
      const hash = createHash('sha256')
        .update(path.join(p.socket, ns, id))
        .digest('hex');
      rmSync(path.join(SHIM_SOCKETS, hash), { force: true });
    }
}

/** Removes the kubelet's /var/log/containers links into this node's pod logs. */
function removeContainerLogLinks(p: NodePaths): void {
  if (!existsSync(KUBELET_CONTAINER_LOGS)) return;
  for (const f of readdirSync(KUBELET_CONTAINER_LOGS)) {
    const link = path.join(KUBELET_CONTAINER_LOGS, f);
    try {
      if (lstatSync(link).isSymbolicLink() && readlinkSync(link).startsWith(`${p.podLogs}/`)) rmSync(link);
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * Removes everything a node in `dir` may have left on the host, whether it stopped cleanly or was
 * killed: its processes (daemons, shims, containers), pod networks (CNI DEL), mounts under `dir`,
 * the KUBE-* iptables chains and our CNI rules, the bridge, IPAM and CNI cache state, changed
 * sysctls; then forgets the node (its `node.json`, the host lock if it names `dir`).
 * `wipeRuntime` also empties containerd's store: after a crash its records point at dead
 * containers. It defaults to whether `node.json` is there (a node that did not finish its stop);
 * otherwise imported images stay for the next start. Safe to call when nothing is left.
 */
export async function cleanupNode(dir: string, opts: { wipeRuntime?: boolean } = {}): Promise<void> {
  const p = nodePaths(dir);
  const state = readJson<NodeState>(p.state);
  const lock = readJson<{ pid: number; dir: string }>(HOST_LOCK);
  if (lock && path.resolve(lock.dir) === p.dir && lock.pid !== process.pid && host.isAlive(lock.pid))
    throw new Error(`the node in ${p.dir} is still running (pid ${lock.pid})`);
  const sandboxes = sandboxIds(p);
  await host.killLeftoverProcesses(p.dir);
  await teardownPodNetworks(p);
  await host.unmountAll(p.dir);
  await host.deleteLink(CNI_BRIDGE);
  const kubeChain = (c: string) => c.startsWith('KUBE-');
  if (await host.hasIptablesChains(kubeChain)) {
    // kube-proxy knows its own rules (iptables, ipvs, nftables); the rest goes below
    const proxy = tryResolve('kube-proxy');
    if (proxy) await host.run(proxy, ['--cleanup'], { timeoutMs: 60_000 });
  }
  const ourComment = `name: \\"${CNI_NETWORK}\\"`;
  await host.removeIptables(kubeChain, (rule) => rule.includes(ourComment));
  host.removeTree(p.ipamDir);
  // libcni's result cache: our network's entries and the runtime's loopback ones for our pods
  const results = path.join(CNI_CACHE, 'results');
  if (existsSync(results))
    for (const f of readdirSync(results))
      if (
        f.startsWith(`${CNI_NETWORK}-`) ||
        sandboxes.has(/^cni-loopback-([0-9a-f]{64})-/.exec(f)?.[1] ?? '')
      )
        rmSync(path.join(results, f), { force: true });
  host.removeIfEmpty(path.join(CNI_CACHE, 'results'));
  host.removeIfEmpty(CNI_CACHE);
  removeContainerLogLinks(p);
  host.removeIfEmpty(KUBELET_CONTAINER_LOGS);
  for (const f of ['kubelet.sock', 'kubelet_internal_checkpoint'])
    rmSync(path.join(DEVICE_PLUGINS, f), { force: true });
  host.removeIfEmpty(DEVICE_PLUGINS);
  host.removeIfEmpty(path.dirname(DEVICE_PLUGINS));
  removeShimSockets(p);
  host.removeIfEmpty(SHIM_SOCKETS);
  host.removeIfEmpty('/run/containerd');
  for (const d of [p.containerdState, p.runcRoot, p.kubeletRoot, p.podLogs, p.manifests, p.volumePlugins])
    host.removeTree(d);
  if (opts.wipeRuntime ?? state !== undefined) host.removeTree(p.containerdRoot);
  if (state) host.restoreSysctls(state.sysctls);
  rmSync(p.state, { force: true });
  if (lock && path.resolve(lock.dir) === p.dir) rmSync(HOST_LOCK, { force: true });
}

function tryResolve(name: 'kube-proxy'): string | undefined {
  try {
    return resolveBinary(name);
  } catch {
    return undefined;
  }
}

/**
 * Claims the host's pod network for the node in `dir`: refuses while another live node holds it,
 * cleans up after a node that died (in this or another dir). Returns the sysctls to restore.
 */
async function claimHost(p: NodePaths): Promise<Record<string, string>> {
  const lock = readJson<{ pid: number; dir: string }>(HOST_LOCK);
  if (lock && host.isAlive(lock.pid))
    throw new Error(
      `a node is already running on this machine (pid ${lock.pid}, dir ${lock.dir}); only one can run at a time`,
    );
  // sysctls as they were before the first of the crashed nodes changed them
  let sysctls: Record<string, string> | undefined;
  if (lock && path.resolve(lock.dir) !== p.dir) {
    sysctls = readJson<NodeState>(nodePaths(lock.dir).state)?.sysctls;
    await cleanupNode(lock.dir, { wipeRuntime: true });
  }
  const previous = readJson<NodeState>(p.state);
  if (previous && previous.pid !== process.pid && host.isAlive(previous.pid))
    throw new Error(`a node is already running in ${p.dir} (pid ${previous.pid})`);
  sysctls ??= previous?.sysctls;
  await cleanupNode(p.dir);
  sysctls ??= host.readSysctls();
  writeFileSync(HOST_LOCK, JSON.stringify({ pid: process.pid, dir: p.dir }));
  return sysctls;
}

// ---------------------------------------------------------------------------------------------
// API access

interface ApiResponse {
  status: number;
  body: unknown;
}

function apiClient(server: string, caFile: string, admin: NodeAccess['admin']) {
  const agentOpts = {
    ca: readFileSync(caFile),
    cert: readFileSync(admin.cert),
    key: readFileSync(admin.key),
  };
  return (method: string, urlPath: string, timeoutMs = 10_000): Promise<ApiResponse> =>
    new Promise((resolve, reject) => {
      const req = https.request(
        `${server}${urlPath}`,
        { method, ...agentOpts, timeout: timeoutMs },
        (res) => {
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (data += c));
          res.on('end', () => {
            let body: unknown = data;
            try {
              body = JSON.parse(data);
            } catch {
              // not JSON
            }
            resolve({ status: res.statusCode ?? 0, body });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath}: timeout`)));
      req.on('error', reject);
      req.end();
    });
}

interface NodeObject {
  spec?: { taints?: { key: string; effect: string }[] };
  status?: { conditions?: { type: string; status: string; message?: string }[] };
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------------
// start / stop

interface NodeConfig {
  kubeconfigs: Record<'kubelet' | 'controllerManager' | 'scheduler' | 'proxy', string>;
  ports: Record<'controllerManager' | 'scheduler' | 'proxyHealthz' | 'proxyMetrics', number>;
}

/** Writes node.json and every component's configuration under the node dir. */
async function writeNodeConfig(
  p: NodePaths,
  cp: ControlPlane,
  access: NodeAccess,
  cniBin: string,
  sysctls: Record<string, string>,
): Promise<NodeConfig> {
  const state: NodeState = {
    pid: process.pid,
    nodeName: access.nodeName,
    containerdSocket: p.socket,
    sysctls,
  };
  mkdirSync(p.dir, { recursive: true });
  writeFileSync(p.state, JSON.stringify(state, null, 2));
  for (const d of [p.containerdRoot, p.containerdState, p.runcRoot, p.cniConfDir, p.ipamDir, p.kubeletRoot])
    mkdirSync(d, { recursive: true });
  for (const d of [p.manifests, p.podLogs, p.volumePlugins, p.kubeconfigs]) mkdirSync(d, { recursive: true });
  writeFileSync(p.containerdConfig, containerdConfig(p, cniBin));
  writeFileSync(p.conflist, JSON.stringify(cniConflist(p.ipamDir), null, 2));
  const [kubelet, kubeletHealthz, controllerManager, scheduler, proxyHealthz, proxyMetrics] =
    (await freePorts(6)) as [number, number, number, number, number, number];
  writeFileSync(
    p.kubeletConfig,
    stringify(
      kubeletConfig({
        paths: p,
        hostIp: access.hostIp,
        port: kubelet,
        healthzPort: kubeletHealthz,
        clientCaFile: cp.caCertFile,
        servingCert: access.pki.kubeletServing.cert,
        servingKey: access.pki.kubeletServing.key,
      }),
    ),
  );
  const kubeconfig = (name: string, cert: { cert: string; key: string }) => {
    const file = path.join(p.kubeconfigs, `${name}.kubeconfig`);
    const user = { name, clientCertFile: cert.cert, clientKeyFile: cert.key };
    writeFileSync(file, renderKubeconfig(cp.server, cp.caCertFile, user), { mode: 0o600 });
    return file;
  };
  return {
    kubeconfigs: {
      kubelet: kubeconfig('kubelet', access.pki.kubelet),
      controllerManager: kubeconfig('kube-controller-manager', access.pki.controllerManager),
      scheduler: kubeconfig('kube-scheduler', access.pki.scheduler),
      proxy: kubeconfig('kube-proxy', access.pki.proxy),
    },
    ports: { controllerManager, scheduler, proxyHealthz, proxyMetrics },
  };
}

/**
 * Starts a node joined to `controlPlane` and waits until it is usable: the Node is Ready without
 * taints, ServiceAccount `default/default` exists and kube-proxy routes the `kubernetes` Service.
 * First removes whatever an earlier, killed node left on the host.
 */
export async function startNode(opts: NodeOptions): Promise<RunningNode> {
  const access = opts.controlPlane.node;
  if (!access) throw new Error('startNode needs a control plane started with the `node` option');
  const p = nodePaths(opts.dir);
  if (Buffer.byteLength(`${p.socket}.ttrpc`) > 107)
    throw new Error(`node dir ${p.dir} is too long for containerd's socket path (max ~80 characters)`);
  const cniBin = checkPrerequisites();
  const bins = {
    kubelet: resolveBinary('kubelet'),
    controllerManager: resolveBinary('kube-controller-manager'),
    scheduler: resolveBinary('kube-scheduler'),
    proxy: resolveBinary('kube-proxy'),
  };
  // node.log: what the node itself did and how long each phase took
  const phases: string[] = [];
  let phaseStart = Date.now();
  const phase = (what: string) => {
    const now = Date.now();
    phases.push(`${what} ${now - phaseStart} ms`);
    phaseStart = now;
  };
  const nodeLog = (line: string) => {
    mkdirSync(p.dir, { recursive: true });
    appendFileSync(path.join(p.dir, 'node.log'), `${new Date().toISOString()} ${line}\n`);
  };
  // built (or taken from the cache) while the host is being prepared
  const imagesBuilt = nodeImages();
  imagesBuilt.catch(() => {});

  const sysctls = await claimHost(p);
  phase('host cleanup');
  // From here on the host is ours: give it back if the configuration cannot be written.
  let config: NodeConfig;
  try {
    config = await writeNodeConfig(p, opts.controlPlane, access, cniBin, sysctls);
  } catch (err) {
    await cleanupNode(p.dir).catch(() => {});
    throw err;
  }
  const { kubeconfigs, ports } = config;
  const log = (name: string) => path.join(p.dir, `${name}.log`);

  let stopping = false;
  let started = false;
  let failStart: (err: Error) => void = () => {};
  const crashed = new Promise<never>((_, reject) => (failStart = reject));
  crashed.catch(() => {});
  const group = new ProcessGroup((proc, code) => {
    if (stopping) return;
    if (!started)
      failStart(
        new Error(`${proc.name} exited (code ${code}) while the node was starting:\n${tail(log(proc.name))}`),
      );
    else opts.onCrash?.(proc.name, code);
  });
  const untilCrash = <T>(promise: Promise<T>) => Promise.race([promise, crashed]);
  const procs: Partial<Record<'containerd' | 'kcm' | 'scheduler' | 'proxy' | 'kubelet', ManagedProcess>> = {};
  const api = apiClient(opts.controlPlane.server, opts.controlPlane.caCertFile, access.admin);

  const stopProc = async (proc: ManagedProcess | undefined, graceMs = 5000) => {
    if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
    proc.child.kill('SIGTERM');
    const timer = setTimeout(() => proc.child.kill('SIGKILL'), graceMs);
    await proc.exited;
    clearTimeout(timer);
  };
  const alive = (proc: ManagedProcess | undefined) =>
    !!proc && proc.child.exitCode === null && proc.child.signalCode === null;

  /** Deletes every pod and waits until the kubelet has torn their sandboxes down. */
  const deletePods = async () => {
    const list = await api('GET', '/api/v1/pods', 5000);
    const items = (list.body as { items?: { metadata: { namespace: string } }[] }).items ?? [];
    if (list.status !== 200 || items.length === 0) return;
    for (const ns of new Set(items.map((i) => i.metadata.namespace)))
      await api('DELETE', `/api/v1/namespaces/${encodeURIComponent(ns)}/pods?gracePeriodSeconds=1`, 10_000);
    await waitFor(
      'pod sandboxes torn down',
      async () => {
        const tasks = await ctr(p.socket, ['tasks', 'ls'], 10_000);
        const running = tasks
          .split('\n')
          .slice(1)
          .filter((l) => /\b(RUNNING|CREATED|PAUSED|PAUSING)\b/.test(l));
        return running.length === 0 && ipamAllocations(p.ipamDir).size === 0 ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
  };

  /** Removes containerd's containers while it still runs, so its store stays consistent. */
  const removeContainers = async () => {
    const ids = (await ctr(p.socket, ['containers', 'ls', '-q'], 10_000)).split('\n').filter(Boolean);
    if (!ids.length) return;
    for (const id of (await ctr(p.socket, ['tasks', 'ls', '-q'], 10_000)).split('\n').filter(Boolean))
      await ctr(p.socket, ['tasks', 'kill', '-s', 'SIGKILL', id], 10_000).catch(() => {});
    await waitFor(
      'containerd tasks stopped',
      async () => ((await ctr(p.socket, ['tasks', 'ls'], 10_000)).includes('RUNNING') ? undefined : true),
      { timeoutMs: 10_000, intervalMs: 100 },
    ).catch(() => {});
    for (const id of (await ctr(p.socket, ['tasks', 'ls', '-q'], 10_000)).split('\n').filter(Boolean))
      await ctr(p.socket, ['tasks', 'delete', '-f', id], 10_000).catch(() => {});
    await ctr(p.socket, ['containers', 'rm', ...ids], 30_000).catch(() => {});
  };

  let stopPromise: Promise<void> | undefined;
  const stop = () => (stopPromise ??= doStop());
  const doStop = async () => {
    stopping = true;
    phases.length = 0;
    phaseStart = Date.now();
    // Deleting pods and containers is the orderly way; when it cannot happen (the API or
    // containerd already gone, e.g. Ctrl-C reached them first) the host cleanup does it by force.
    const notes: string[] = [];
    const attempt = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (err) {
        notes.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    };
    // Nothing recreates or schedules pods any more; then the kubelet tears the pods down.
    await Promise.all([stopProc(procs.kcm), stopProc(procs.scheduler)]);
    if (alive(procs.kubelet) && alive(procs.containerd)) await attempt('deleting pods', deletePods);
    phase('pods deleted');
    await stopProc(procs.kubelet);
    await stopProc(procs.proxy);
    let containersRemoved = false;
    if (alive(procs.containerd))
      await attempt('removing containers', async () => {
        await removeContainers();
        containersRemoved = true;
      });
    await group.stop();
    phase('processes stopped');
    let failure: unknown;
    try {
      // (on failure node.json stays: the next start cleans up again)
      await cleanupNode(p.dir, { wipeRuntime: !containersRemoved });
    } catch (err) {
      failure = err;
    }
    phase('host cleanup');
    const problems = [...notes, ...(failure ? [`host cleanup: ${String(failure)}`] : [])];
    nodeLog(`stopped: ${phases.join(', ')}${problems.length ? `; ${problems.join('; ')}` : ''}`);
    if (readJson<{ pid: number }>(HOST_LOCK)?.pid === process.pid) rmSync(HOST_LOCK, { force: true });
    if (failure) throw new Error(`stopping the node in ${p.dir} left something behind: ${String(failure)}`);
  };

  try {
    procs.containerd = group.start('containerd', 'containerd', ['--config', p.containerdConfig], {
      logFile: log('containerd'),
    });
    procs.kcm = group.start(
      'kube-controller-manager',
      bins.controllerManager,
      [
        `--kubeconfig=${kubeconfigs.controllerManager}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${ports.controllerManager}`,
        '--leader-elect=false',
        '--use-service-account-credentials=true',
        `--service-account-private-key-file=${access.saPrivateKey}`,
        `--root-ca-file=${opts.controlPlane.caCertFile}`,
        `--cluster-signing-cert-file=${opts.controlPlane.caCertFile}`,
        `--cluster-signing-key-file=${access.pki.caKey}`,
        `--service-cluster-ip-range=${access.serviceCidr}`,
        `--flex-volume-plugin-dir=${p.volumePlugins}`,
        // one client per controller (service account credentials): the default 20 QPS made
        // starting them all take ~4 s, and the node's not-ready taint waits for that
        '--kube-api-qps=200',
        '--kube-api-burst=400',
      ],
      { logFile: log('kube-controller-manager') },
    );
    procs.scheduler = group.start(
      'kube-scheduler',
      bins.scheduler,
      [
        `--kubeconfig=${kubeconfigs.scheduler}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${ports.scheduler}`,
        '--leader-elect=false',
        '--kube-api-qps=200',
        '--kube-api-burst=400',
      ],
      { logFile: log('kube-scheduler') },
    );
    procs.proxy = group.start(
      'kube-proxy',
      bins.proxy,
      [
        `--kubeconfig=${kubeconfigs.proxy}`,
        `--hostname-override=${access.nodeName}`,
        '--proxy-mode=iptables',
        `--cluster-cidr=${POD_CIDR}`,
        `--healthz-bind-address=127.0.0.1:${ports.proxyHealthz}`,
        `--metrics-bind-address=127.0.0.1:${ports.proxyMetrics}`,
        // leave the host's conntrack and route_localnet settings alone; no CAP_SYS_RESOURCE needed
        '--conntrack-max-per-core=0',
        '--conntrack-tcp-timeout-established=0',
        '--conntrack-tcp-timeout-close-wait=0',
        '--iptables-localhost-nodeports=false',
        '--oom-score-adj=0',
      ],
      { logFile: log('kube-proxy') },
    );

    await untilCrash(
      waitFor(
        'containerd',
        async () =>
          (await host.run('ctr', ['--address', p.socket, 'version'])).code === 0 ? true : undefined,
        { timeoutMs: 30_000, intervalMs: 100 },
      ),
    );
    phase('containerd');
    const built = (await imagesBuilt) as OciArchive[];
    phase('images built');
    const present = await listImages(p.socket);
    phase('images listed');
    for (const image of built)
      if (present.get(image.name) !== image.manifestDigest) await importImage(p.socket, image.archive);
    for (const archive of opts.images ?? []) await importImage(p.socket, archive);
    phase('images imported');

    procs.kubelet = group.start(
      'kubelet',
      bins.kubelet,
      [
        `--config=${p.kubeletConfig}`,
        `--root-dir=${p.kubeletRoot}`,
        `--cert-dir=${path.join(p.kubeletRoot, 'pki')}`,
        `--kubeconfig=${kubeconfigs.kubelet}`,
        `--hostname-override=${access.nodeName}`,
        `--node-ip=${access.hostIp}`,
        '--v=1',
      ],
      { logFile: log('kubelet') },
    );

    let lastNode = '';
    await untilCrash(
      waitFor(
        `Node ${access.nodeName} Ready and untainted`,
        async () => {
          const res = await api('GET', `/api/v1/nodes/${access.nodeName}`);
          if (res.status !== 200) return undefined;
          const node = res.body as NodeObject;
          const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
          lastNode = `Ready=${ready?.status} (${ready?.message ?? ''}) taints=${JSON.stringify(node.spec?.taints ?? [])}`;
          return ready?.status === 'True' && !node.spec?.taints?.length ? true : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 250 },
      ).catch((err: Error) => {
        throw new Error(`${err.message}; last seen: ${lastNode}\nkubelet log:\n${tail(log('kubelet'))}`);
      }),
    );
    phase('Node Ready');
    await untilCrash(
      waitFor(
        'ServiceAccount default/default',
        async () =>
          (await api('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200
            ? true
            : undefined,
        { timeoutMs: 60_000, intervalMs: 250 },
      ),
    );
    await untilCrash(
      waitFor(
        'kube-proxy rules for the kubernetes Service',
        async () => {
          const r = await host.run('iptables-save', ['-t', 'nat']);
          return r.stdout.includes(`-d ${KUBERNETES_SERVICE_IP}/32`) ? true : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 250 },
      ),
    );
    phase('ServiceAccount, kube-proxy');
    nodeLog(`started ${access.nodeName}: ${phases.join(', ')}`);
    started = true;
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }

  return {
    nodeName: access.nodeName,
    containerdSocket: p.socket,
    dir: p.dir,
    loadImage: (archive) => importImage(p.socket, path.resolve(archive)),
    stop,
  };
}
