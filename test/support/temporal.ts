import { Client, Connection } from '@temporalio/client';

export function testTemporalAddress(): string {
  const a = process.env.KRATIX_TEST_TEMPORAL_ADDRESS;
  if (!a)
    throw new Error(
      'KRATIX_TEST_TEMPORAL_ADDRESS is not set: run integration tests through jest (global setup)',
    );
  return a;
}

export async function testTemporalClient(): Promise<{ client: Client; close: () => Promise<void> }> {
  const connection = await Connection.connect({ address: testTemporalAddress() });
  const client = new Client({
    connection,
    namespace: process.env.KRATIX_TEST_TEMPORAL_NAMESPACE ?? 'default',
  });
  return { client, close: () => connection.close() };
}
