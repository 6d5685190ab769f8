// setupFiles of the `cluster` jest project: its test uses the same helpers as the integration
// tests, pointed at the in-cluster install's control plane.
const map: Record<string, string> = {
  KRATIX_TEST_DIR: 'KRATIX_CLUSTER_TEST_DIR',
  KRATIX_TEST_KUBECONFIG: 'KRATIX_CLUSTER_TEST_KUBECONFIG',
  KRATIX_TEST_TEMPORAL_ADDRESS: 'KRATIX_CLUSTER_TEST_TEMPORAL_ADDRESS',
  KRATIX_TEST_PIPELINE_IMAGE: 'KRATIX_CLUSTER_TEST_TOOLBOX_IMAGE',
};
for (const [to, from] of Object.entries(map)) {
  const v = process.env[from];
  if (v === undefined)
    throw new Error(`${from} is not set: run the cluster test through jest (cluster-setup)`);
  process.env[to] = v;
}
process.env.KRATIX_TEST_TEMPORAL_NAMESPACE = 'default';
