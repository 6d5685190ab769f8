// Temporal's OpenTelemetry interceptors, wired only when tracing is on (src/tracing.ts).
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import type { ClientInterceptors } from '@temporalio/client';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { InjectedSinks, WorkerInterceptors } from '@temporalio/worker';
import { tracingExport } from '../tracing.js';

/** The workflow interceptor module (bundled with the workflows, active only for traced workflows). */
export function workflowTracingModule(): string {
  const ts = fileURLToPath(new URL('../../workflows/tracing.ts', import.meta.url));
  return existsSync(ts) ? ts : fileURLToPath(new URL('../../workflows/tracing.js', import.meta.url));
}

/** Client interceptors that start a span per call and pass it in the Temporal headers. */
export function tracingClientInterceptors(): ClientInterceptors | undefined {
  return tracingExport() ? { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } : undefined;
}

/**
 * What a worker needs: activity interceptors (a span per activity, child of the workflow's), the
 * workflow interceptor module (unless the worker runs a prebuilt bundle, which has it), and the
 * `exporter` sink the workflow isolate hands its spans to. Off, the sink still exists and drops
 * spans, so a workflow traced by a tracing controller never calls an unknown sink.
 */
export function workerTracing(opts: { prebuiltBundle?: boolean } = {}): {
  interceptors: WorkerInterceptors;
  sinks: InjectedSinks<{ exporter: { export(spans: unknown[]): void } }>;
} {
  const on = tracingExport();
  const workflowModules = opts.prebuiltBundle ? [] : [workflowTracingModule()];
  if (!on)
    return {
      interceptors: { workflowModules },
      sinks: { exporter: { export: { fn: () => undefined } } },
    };
  return {
    interceptors: {
      workflowModules,
      activity: [
        (ctx) => ({
          inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
          outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
        }),
      ],
    },
    sinks: { exporter: makeWorkflowExporter(on.processor, on.resource) as never },
  };
}
