import { Client } from '@temporalio/client';
import {
  connectTemporalClient,
  plainTemporalConnection,
  type TemporalConnectionConfig,
} from '../../src/temporal/connection.js';

export function testTemporalAddress(): string {
  const a = process.env.KRATIX_TEST_TEMPORAL_ADDRESS;
  if (!a)
    throw new Error(
      'KRATIX_TEST_TEMPORAL_ADDRESS is not set: run integration tests through jest (global setup)',
    );
  return a;
}

/** The test run's Temporal dev server (plaintext on loopback). */
export function testTemporalConnection(): TemporalConnectionConfig {
  return plainTemporalConnection(
    testTemporalAddress(),
    process.env.KRATIX_TEST_TEMPORAL_NAMESPACE ?? 'default',
  );
}

export async function testTemporalClient(): Promise<{ client: Client; close: () => Promise<void> }> {
  const config = testTemporalConnection();
  const connection = await connectTemporalClient(config);
  const client = new Client({ connection, namespace: config.namespace });
  return { client, close: () => connection.close() };
}
