// Helpers for the upstream-compatibility tests: manifests applied as a user applies them.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { kubectl, type KubectlResult } from './cluster.js';

/** `kubectl apply -f` of a YAML manifest (kubectl's default: strict server-side field validation). */
export async function kubectlApply(yaml: string): Promise<KubectlResult> {
  const file = path.join(
    process.env.KRATIX_TEST_DIR ?? '/tmp',
    `manifest-${randomBytes(4).toString('hex')}.yaml`,
  );
  writeFileSync(file, yaml);
  return kubectl(['apply', '-f', file]);
}

/** A Promise API in upstream's documented shape, with a unique group. */
export function upstreamApi(base: string): {
  promise: string;
  group: string;
  kind: string;
  plural: string;
  id: string;
} {
  const id = randomBytes(3).toString('hex');
  return {
    promise: `${base}-${id}`,
    group: `${id}.test.kratix.io`,
    kind: base[0]!.toUpperCase() + base.slice(1),
    plural: `${base}s`,
    id,
  };
}

export function crdYaml(api: { group: string; kind: string; plural: string }, indent: string): string {
  return `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ${api.plural}.${api.group}
spec:
  group: ${api.group}
  names:
    kind: ${api.kind}
    plural: ${api.plural}
    singular: ${api.plural.replace(/s$/, '')}
  scope: Namespaced
  versions:
    - name: v1alpha1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              x-kubernetes-preserve-unknown-fields: true`
    .split('\n')
    .map((l) => indent + l)
    .join('\n');
}

/** A shell pipeline container, as the toolbox image runs it. */
export const image = () => process.env.KRATIX_TEST_PIPELINE_IMAGE ?? 'busybox';
