import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import * as k8s from '@kubernetes/client-node';
import { startSystem } from '../../src/system.js';
import { testKubeConfig, testKubeconfigPath } from '../support/cluster.js';
import { waitUntil } from '../support/promises.js';
import { testTemporalConnection } from '../support/temporal.js';

interface Lease {
  spec?: { holderIdentity?: string; leaseTransitions?: number };
}

describe('controller leader election', () => {
  it('lets one controller lead at a time and hands over when the leader stops', async () => {
    const leaseName = `le-${randomBytes(3).toString('hex')}`;
    const co = testKubeConfig().makeApiClient(k8s.CustomObjectsApi);
    const lease = async () =>
      (await co.getNamespacedCustomObject({
        group: 'coordination.k8s.io',
        version: 'v1',
        plural: 'leases',
        namespace: 'kratix-platform-system',
        name: leaseName,
      })) as Lease;
    const start = (identity: string) =>
      startSystem({
        kubeconfig: testKubeconfigPath(),
        temporal: testTemporalConnection(),
        workDir: tmpdir(),
        runWorker: false,
        // A lease long enough that a renewal delayed by a loaded CI machine (seen: > 3 s) does not
        // hand it over; the handover below comes from the leader releasing it, not from expiry.
        leaderElection: { leaseName, identity, leaseDurationSeconds: 10, renewIntervalMs: 500 },
      });
    // Stopped whatever happens: a controller left running keeps jest from exiting.
    const started: { stop(): Promise<void> }[] = [];
    try {
      const first = await start('first');
      started.push(first);
      await waitUntil('first leads', async () => (await lease()).spec?.holderIdentity === 'first');
      const second = await start('second');
      started.push(second);
      await new Promise((r) => setTimeout(r, 2500));
      expect((await lease()).spec?.holderIdentity).toBe('first'); // a live leader keeps the lease

      await started.shift()!.stop(); // the first: releases the lease
      await waitUntil(
        'second takes over',
        async () => (await lease()).spec?.holderIdentity === 'second',
        20_000,
      );
      expect((await lease()).spec?.leaseTransitions).toBe(1);
    } finally {
      for (const s of started) await s.stop().catch(() => undefined);
    }
  });
});
