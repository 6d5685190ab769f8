import { PIPELINE_HELPER_IMAGE } from '../pipeline-helper/image.js';
import { describeApiError, Kube } from './client.js';

/**
 * The image of the kubernetes executor's helper containers: `--helper-image`, else env
 * KRATIX_HELPER_IMAGE, else, in a Pod that knows its name (env POD_NAME and POD_NAMESPACE from the
 * downward API, as deploy/ sets them), the image of its own `worker` container (the kratix-temporal
 * image holds the helper), else the local dev image PIPELINE_HELPER_IMAGE. Reading its own Pod
 * keeps one image name to change: `kustomize edit set image` or `kubectl set image` carry over to
 * the pipeline Pods.
 */
export async function resolveHelperImage(
  flag: string | undefined,
  kubeconfig: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ image: string; source: string }> {
  if (flag) return { image: flag, source: '--helper-image' };
  if (env.KRATIX_HELPER_IMAGE) return { image: env.KRATIX_HELPER_IMAGE, source: 'KRATIX_HELPER_IMAGE' };
  const name = env.POD_NAME;
  const namespace = env.POD_NAMESPACE;
  if (name && namespace) {
    const kube = Kube.fromFile(kubeconfig);
    try {
      const pod = await kube.core.readNamespacedPod({ name, namespace });
      const containers = pod.spec?.containers ?? [];
      const own = containers.find((c) => c.name === (env.CONTAINER_NAME ?? 'worker')) ?? containers[0];
      if (own?.image) return { image: own.image, source: `Pod ${namespace}/${name}` };
    } catch (err) {
      throw new Error(
        `cannot read this worker's Pod ${namespace}/${name} to find the helper image (set --helper-image ` +
          `or KRATIX_HELPER_IMAGE instead): ${describeApiError(err)}`,
        { cause: err },
      );
    } finally {
      kube.close();
    }
  }
  return { image: PIPELINE_HELPER_IMAGE, source: 'default' };
}
