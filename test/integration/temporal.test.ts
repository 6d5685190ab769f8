import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Worker } from '@temporalio/worker';
import { SA } from '../../src/core/search-attributes.js';
import { connectTemporalWorker } from '../../src/temporal/connection.js';
import { testTemporalClient, testTemporalConnection } from '../support/temporal.js';

describe('Temporal dev server', () => {
  it('runs a workflow and finds it again by a custom search attribute', async () => {
    const taskQueue = `ping-${randomUUID()}`;
    const connection = await connectTemporalWorker(testTemporalConnection());
    const worker = await Worker.create({
      connection,
      taskQueue,
      workflowsPath: fileURLToPath(new URL('../fixtures/ping-workflows.ts', import.meta.url)),
    });
    const { client, close } = await testTemporalClient();
    const marker = `promise-${randomUUID().slice(0, 8)}`;
    try {
      const result = await worker.runUntil(
        client.workflow.execute('ping', {
          taskQueue,
          workflowId: `ping/${marker}`,
          args: ['kratix'],
          typedSearchAttributes: [{ key: SA.promise, value: marker }],
        }),
      );
      expect(result).toBe('pong kratix');
      const deadline = Date.now() + 15_000;
      let ids: string[] = [];
      while (Date.now() < deadline) {
        ids = [];
        for await (const wf of client.workflow.list({ query: `KratixPromise = '${marker}'` }))
          ids.push(wf.workflowId);
        if (ids.length > 0) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(ids).toEqual([`ping/${marker}`]);
    } finally {
      await close();
      await connection.close();
    }
  });
});
