/**
 * Manual check of the real one-node cluster (src/infra/node.ts), as root on a prepared machine
 * (`bash scripts/setup.sh --node`):
 *
 *   npx tsx scripts/node-smoke.ts [--dir /tmp/kt-smoke] [--pods N]
 *
 * Starts a control plane and a node, runs a Pod whose two ordered init containers share an
 * emptyDir (toolbox image) and whose second one lists pods with kubectl and the projected
 * ServiceAccount token, waits for Succeeded, stops everything and checks the host is as before.
 * Prints timings. `--hang` starts the same and stays up with a sleeping Pod (to kill -9 it and
 * check that the next start cleans up).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { resolveBinary } from '../src/infra/binaries.js';
import { startControlPlane } from '../src/infra/control-plane.js';
import { TOOLBOX_IMAGE } from '../src/infra/images.js';
import { CNI_BRIDGE, startNode } from '../src/infra/node.js';
import { currentMountsUnder, leftoverProcesses, TOUCHED_SYSCTLS } from '../src/infra/node-host.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: '/tmp/kt-smoke' },
    pods: { type: 'string', default: '1' },
    hang: { type: 'boolean', default: false },
  },
});
const dir = path.resolve(values.dir!);
const kubectl = resolveBinary('kubectl');
const sh = (cmd: string) => {
  try {
    return execFileSync('sh', ['-c', cmd], { encoding: 'utf8' });
  } catch (err) {
    return (err as { stdout?: string }).stdout ?? '';
  }
};

/** What a node could leave on the host, to compare before and after. */
function hostSnapshot() {
  return {
    links: sh("ip -o link show | awk -F': ' '{print $2}' | sort"),
    kubeChains: sh('iptables-save | grep -c KUBE; ip6tables-save | grep -c KUBE'),
    cniRules: sh('iptables-save | grep -c CNI-'),
    mounts: sh(`grep -c -e ' ${dir}' -e nsfs /proc/self/mountinfo`),
    hostDirs: [
      '/run/containerd',
      '/var/log/containers',
      '/var/lib/cni',
      '/run/netns',
      '/opt/containerd',
      '/var/lib/kubelet',
      '/usr/libexec/kubernetes',
    ]
      .filter((d) => existsSync(d))
      .join(' '),
    sysctls: TOUCHED_SYSCTLS.map((k) => `${k}=${sh(`cat /proc/sys/${k}`).trim()}`).join(' '),
  };
}

const podManifest = (name: string, sleep: boolean) => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: smoke}
spec:
  serviceAccountName: pipeline
  restartPolicy: Never
  securityContext: {runAsUser: 65532, runAsGroup: 65532}
  volumes: [{name: work, emptyDir: {}}]
  initContainers:
  - name: write
    image: ${TOOLBOX_IMAGE}
    imagePullPolicy: IfNotPresent
    command: [sh, -c, 'echo "written by $(id -un)" > /work/greeting']
    volumeMounts: [{name: work, mountPath: /work}]
  - name: kubectl
    image: ${TOOLBOX_IMAGE}
    imagePullPolicy: IfNotPresent
    command: [sh, -c, 'cat /work/greeting && kubectl get pods -o name && echo "kubectl ok" >> /work/greeting']
    volumeMounts: [{name: work, mountPath: /work}]
  containers:
  - name: main
    image: ${TOOLBOX_IMAGE}
    imagePullPolicy: IfNotPresent
    command: [sh, -c, '${sleep ? 'sleep 3600' : 'cat /work/greeting'}']
    volumeMounts: [{name: work, mountPath: /work}]
`;

const setup = `
apiVersion: v1
kind: Namespace
metadata: {name: smoke}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: pipeline, namespace: smoke}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: pipeline-view, namespace: smoke}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: ServiceAccount, name: pipeline, namespace: smoke}]
`;

const before = hostSnapshot();
const t0 = Date.now();
const cp = await startControlPlane({ dir: path.join(dir, 'control-plane'), node: {} });
const tCp = Date.now();
const node = await startNode({ controlPlane: cp, dir: path.join(dir, 'node') });
const tUp = Date.now();
console.log(
  `control plane ${tCp - t0} ms, node ${tUp - tCp} ms: cluster up in ${tUp - t0} ms (node ${node.nodeName})`,
);
const k = (args: string[], input?: string) =>
  execFileSync(kubectl, ['--kubeconfig', cp.kubeconfigPath, ...args], { encoding: 'utf8', input });

try {
  k(['apply', '-f', '-'], setup);
  // the namespace's default ServiceAccount and root CA ConfigMap come from kube-controller-manager
  for (
    let i = 0;
    i < 50 && !k(['get', 'serviceaccount', '-n', 'smoke', '-o', 'name']).includes('pipeline');
    i++
  )
    await new Promise((r) => setTimeout(r, 100));
  const pods = Array.from({ length: Number(values.pods) }, (_, i) => `smoke-${i}`);
  const tCreate = Date.now();
  k(['apply', '-f', '-'], pods.map((n) => podManifest(n, values.hang!)).join('\n---\n'));
  if (values.hang) {
    k(['wait', '-n', 'smoke', '--for=condition=Ready', '--timeout=120s', ...pods.map((n) => `pod/${n}`)]);
    console.log('HANGING (kill -9 this process to test crash cleanup)');
    await new Promise(() => {});
  }
  k([
    'wait',
    '-n',
    'smoke',
    '--for=jsonpath={.status.phase}=Succeeded',
    '--timeout=120s',
    ...pods.map((n) => `pod/${n}`),
  ]);
  const tDone = Date.now();
  console.log(`${pods.length} Pod(s) create -> Succeeded in ${tDone - tCreate} ms`);
  // a running Pod at stop: the node deletes it through the API and the kubelet tears it down
  k([
    'run',
    'sleeper',
    '-n',
    'smoke',
    `--image=${TOOLBOX_IMAGE}`,
    '--image-pull-policy=IfNotPresent',
    '--',
    'sleep',
    '3600',
  ]);
  k(['wait', '-n', 'smoke', '--for=condition=Ready', '--timeout=60s', 'pod/sleeper']);
  console.log('--- logs of smoke-0 (init kubectl, main):');
  console.log(k(['logs', '-n', 'smoke', 'smoke-0', '-c', 'kubectl']).trim());
  console.log(k(['logs', '-n', 'smoke', 'smoke-0', '-c', 'main']).trim());
} finally {
  const tStop = Date.now();
  await node.stop();
  const tNodeDown = Date.now();
  await cp.stop();
  console.log(`stop: node ${tNodeDown - tStop} ms, control plane ${Date.now() - tNodeDown} ms`);
}

const after = hostSnapshot();
const problems: string[] = [];
for (const key of Object.keys(before) as (keyof typeof before)[])
  if (before[key] !== after[key])
    problems.push(`${key}: before ${JSON.stringify(before[key])}, after ${JSON.stringify(after[key])}`);
const procs = leftoverProcesses(dir);
if (procs.length) problems.push(`processes left: ${procs.join(' ')}`);
if (currentMountsUnder(dir).length) problems.push(`mounts left under ${dir}`);
if (sh(`ip link show ${CNI_BRIDGE} 2>/dev/null`)) problems.push(`bridge ${CNI_BRIDGE} left`);
if (sh(`ls ${dir}/node/cni/ipam 2>/dev/null`)) problems.push('IPAM state left');
if (existsSync('/run/kratix-temporal-node.json')) problems.push('host lock left');
if (existsSync(path.join(dir, 'node', 'node.json'))) problems.push('node state file left');
console.log(
  problems.length
    ? `LEFT BEHIND:\n${problems.join('\n')}`
    : 'host clean: no process, mount, KUBE chain, bridge or IPAM state left',
);
if (problems.length) process.exitCode = 1;
