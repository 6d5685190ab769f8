// Where the time of one configure run goes, read from Temporal: the lifecycle workflow's event
// timestamps (the run runs inside it), from the object's creation to the watch seeing it completed.
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';

type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;
const T = proto.temporal.api.enums.v1.EventType;

function ms(e: HistoryEvent | undefined): number | undefined {
  const t = e?.eventTime;
  if (!t) return undefined;
  return Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}

export interface Phase {
  phase: string;
  ms: number;
}

/**
 * The phases of one run, each from the end of the previous one: controller → lifecycle start →
 * its first workflow task → the start step (a local activity in that task) → activity dispatch (or,
 * with the pipeline a local activity in the same task, its scheduling) → the pipeline, until the
 * bench's watch sees PipelineCompleted=True.
 */
export async function runPhases(
  client: Client,
  lifecycleId: string,
  createdAt: number,
  completedAt: number,
): Promise<{ phases: Phase[]; lifecycleEvents: number; lifecycleEventTypes: string[] }> {
  const events = (await client.workflow.getHandle(lifecycleId).fetchHistory()).events ?? [];
  const first = (type: number) => events.find((e) => e.eventType === type);
  const local = localActivities(events);
  const localRun = local.find((a) => a.type === 'runPipeline');
  const marks: [string, number | undefined][] = [
    ['controller: watch event → lifecycle started', ms(events[0])],
    ['lifecycle: first workflow task dispatched', ms(first(T.EVENT_TYPE_WORKFLOW_TASK_STARTED))],
    ...((localRun
      ? [
          // The pipeline as a local activity in the same workflow task: the markers' own times.
          [
            'configure run: start step with the first identity (local activity)',
            local.find((a) => a.type === 'startConfigureRun')?.completedAt,
          ],
          ['runPipeline: local activity scheduled in the worker', localRun.scheduledAt],
        ]
      : [
          [
            'configure run: start step with the first identity (local activity)',
            ms(first(T.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)),
          ],
          ['runPipeline: dispatch to a worker', ms(first(T.EVENT_TYPE_ACTIVITY_TASK_STARTED))],
        ]) satisfies [string, number | undefined][]),
  ];
  const phases: Phase[] = [];
  let prev = createdAt;
  for (const [phase, t] of marks) {
    if (t === undefined) continue;
    phases.push({ phase, ms: t - prev });
    prev = t;
  }
  // The last pipeline completes the run in its own status patch: the watch sees it before the
  // activity reports back (its Events are written after the patch).
  phases.push({
    phase: 'runPipeline: pipeline, output, status + completion → watch sees PipelineCompleted=True',
    ms: completedAt - prev,
  });
  return {
    phases,
    lifecycleEvents: events.length,
    // In the JSON: what the history holds (e.g. a second signal's workflow task).
    lifecycleEventTypes: events.map((e) => String(T[e.eventType ?? 0]).replace('EVENT_TYPE_', '')),
  };
}

/** Local activities from their markers' data (type, scheduled and completed, by the worker's clock). */
function localActivities(events: HistoryEvent[]) {
  const time = (t?: { seconds?: number; nanos?: number }) =>
    t ? (t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : undefined;
  return events.flatMap((e) => {
    const m = e.markerRecordedEventAttributes;
    const data = m?.markerName === 'core_local_activity' ? m.details?.data?.payloads?.[0]?.data : undefined;
    if (!data) return [];
    const d = JSON.parse(Buffer.from(data).toString('utf8')) as {
      activity_type?: string;
      complete_time?: { seconds?: number; nanos?: number };
      original_schedule_time?: { seconds?: number; nanos?: number };
    };
    return [
      {
        type: d.activity_type,
        scheduledAt: time(d.original_schedule_time),
        completedAt: time(d.complete_time),
      },
    ];
  });
}
