// Builders for Promises and Pipelines, shared by the tests, the benchmark and the history recorder.
import { randomBytes } from 'node:crypto';
import type { KratixPromise, Pipeline } from '../../src/core/types.js';

export interface TestApi {
  promise: string;
  group: string;
  version: string;
  kind: string;
  plural: string;
}

/** A unique Promise name and API group per test: Promises and CRDs are cluster-scoped. */
export function uniqueApi(base: string): TestApi {
  const id = randomBytes(3).toString('hex');
  const kind = base[0]!.toUpperCase() + base.slice(1);
  return { promise: `${base}-${id}`, group: `${id}.test.kratix.io`, version: 'v1', kind, plural: `${base}s` };
}

/**
 * A pipeline whose containers run shell scripts: the local executor runs the commands on the host;
 * on the test node (kubernetes executor) they run in the toolbox image (busybox + kubectl).
 */
export function shPipeline(
  name: string,
  scripts: string[] | Record<string, string>,
  extra: Partial<Pipeline['spec']> = {},
): Pipeline {
  const entries = Array.isArray(scripts)
    ? scripts.map((s, i) => [`step-${i}`, s] as const)
    : Object.entries(scripts);
  return {
    apiVersion: 'platform.kratix.io/v1alpha1',
    kind: 'Pipeline',
    metadata: { name },
    spec: {
      containers: entries.map(([cname, script]) => ({
        name: cname,
        image: process.env.KRATIX_TEST_PIPELINE_IMAGE ?? 'busybox',
        command: ['sh', '-ec', script],
      })),
      ...extra,
    },
  };
}

export function promiseFor(
  api: TestApi,
  spec: Omit<NonNullable<KratixPromise['spec']>, 'api'> = {},
): KratixPromise {
  return {
    apiVersion: 'platform.kratix.io/v1alpha1',
    kind: 'Promise',
    metadata: { name: api.promise },
    spec: {
      api: {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: `${api.plural}.${api.group}` },
        spec: {
          group: api.group,
          scope: 'Namespaced',
          names: { plural: api.plural, singular: api.plural.replace(/s$/, ''), kind: api.kind },
          versions: [
            {
              name: api.version,
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
                },
              },
            },
          ],
        },
      },
      ...spec,
    },
  };
}
