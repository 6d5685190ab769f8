import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { msToTs } from '@temporalio/common';
import { SA, SEARCH_ATTRIBUTE_NAMES } from '../../src/core/search-attributes.js';
import { runCli } from '../support/cli.js';
import { testKubeconfigPath } from '../support/cluster.js';
import { waitUntil } from '../support/promises.js';
import { startSystem } from '../../src/system.js';
import { connectTemporalClient } from '../../src/temporal/connection.js';
import { testTemporalAddress, testTemporalConnection } from '../support/temporal.js';

const installCli = (namespace: string) =>
  runCli([
    'install',
    '--kubeconfig',
    testKubeconfigPath(),
    '--temporal-address',
    testTemporalAddress(),
    '--temporal-namespace',
    namespace,
  ]);

type TemporalConnection = Awaited<ReturnType<typeof connectTemporalClient>>;

/** A new Temporal namespace without our search attributes. */
async function freshNamespace(connection: TemporalConnection): Promise<string> {
  const namespace = `kt-${randomBytes(3).toString('hex')}`;
  await connection.workflowService.registerNamespace({
    namespace,
    workflowExecutionRetentionPeriod: msToTs('1 day'),
  });
  const before = await connection.operatorService.listSearchAttributes({ namespace });
  expect(Object.keys(before.customAttributes ?? {})).not.toContain('KratixPromise');
  return namespace;
}

const searchAttributesOf = async (connection: TemporalConnection, namespace: string) =>
  Object.keys((await connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {});

describe('kratix-temporal install', () => {
  it('registers the search attributes in a fresh Temporal namespace so runs can be found by Promise', async () => {
    const connection = await connectTemporalClient(testTemporalConnection());
    try {
      const namespace = await freshNamespace(connection);

      const first = await installCli(namespace);
      expect(first.stdout).toContain(
        `search attributes added in Temporal namespace ${namespace}: ${SEARCH_ATTRIBUTE_NAMES.join(', ')}`,
      );
      expect(first.stdout).toContain('ClusterRole/Binding kratix-temporal-controller');
      const after = await searchAttributesOf(connection, namespace);
      for (const name of SEARCH_ATTRIBUTE_NAMES) expect(after).toContain(name);
      // Idempotent.
      expect((await installCli(namespace)).stdout).toContain(
        `search attributes already present in Temporal namespace ${namespace}`,
      );

      // A workflow tagged like ours is found by the query operators use.
      const client = new Client({ connection, namespace });
      const workflowId = `probe-${namespace}`;
      const handle = await waitUntil('namespace usable', () =>
        client.workflow
          .start('resourceLifecycle', {
            taskQueue: 'nobody-polls',
            workflowId,
            typedSearchAttributes: [{ key: SA.promise, value: 'probe' }],
          })
          .catch(() => undefined),
      );
      const found = await waitUntil('visible by KratixPromise', async () => {
        const ids: string[] = [];
        for await (const w of client.workflow.list({ query: `KratixPromise = "probe"` }))
          ids.push(w.workflowId);
        return ids.length ? ids : undefined;
      });
      expect(found).toEqual([workflowId]);
      await handle.terminate('probe done');
    } finally {
      await connection.close();
    }
  });

  // A worker Deployment upgraded before the controller runs workflow code that sets attributes
  // only the new controller would register: the worker registers them itself.
  it('a worker started alone registers missing search attributes', async () => {
    const connection = await connectTemporalClient(testTemporalConnection());
    try {
      const namespace = await freshNamespace(connection);
      const worker = await startSystem({
        kubeconfig: testKubeconfigPath(),
        temporal: { ...testTemporalConnection(), namespace },
        workDir: mkdtempSync(path.join(tmpdir(), 'kt-worker-')),
        runController: false,
        executor: 'local',
      });
      try {
        const after = await searchAttributesOf(connection, namespace);
        for (const name of SEARCH_ATTRIBUTE_NAMES) expect(after).toContain(name);
      } finally {
        await worker.stop();
      }
    } finally {
      await connection.close();
    }
  });
});
