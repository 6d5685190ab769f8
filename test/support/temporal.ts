import { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
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

/** The activity type of each local activity a history recorded (from its marker's data), in order. */
export function localActivityTypes(events: temporal.api.history.v1.IHistoryEvent[]): string[] {
  return events.flatMap((e) => {
    const m = e.markerRecordedEventAttributes;
    const data = m?.markerName === 'core_local_activity' ? m.details?.data?.payloads?.[0]?.data : undefined;
    if (!data) return [];
    const type = (JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: string }).activity_type;
    return type ? [type] : [];
  });
}
