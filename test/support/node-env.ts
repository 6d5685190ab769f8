// setupFiles of the `node` jest project: its tests use the same helpers as the integration tests,
// pointed at the node environment instead of the apiserver-only one.
const map: Record<string, string> = {
  KRATIX_TEST_DIR: 'KRATIX_NODE_TEST_DIR',
  KRATIX_TEST_KUBECONFIG: 'KRATIX_NODE_TEST_KUBECONFIG',
  KRATIX_TEST_TEMPORAL_ADDRESS: 'KRATIX_NODE_TEST_TEMPORAL_ADDRESS',
  KRATIX_TEST_DEFAULT_REPO: 'KRATIX_NODE_TEST_DEFAULT_REPO',
  KRATIX_TEST_WORKER_PID_FILE: 'KRATIX_NODE_TEST_WORKER_PID_FILE',
  KRATIX_TEST_PIPELINE_IMAGE: 'KRATIX_NODE_TEST_TOOLBOX_IMAGE',
};
for (const [to, from] of Object.entries(map)) {
  const v = process.env[from];
  if (v === undefined) throw new Error(`${from} is not set: run the node tests through jest (node-setup)`);
  process.env[to] = v;
}
process.env.KRATIX_TEST_TEMPORAL_NAMESPACE = 'default';
