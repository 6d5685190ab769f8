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
 * The untraced twin of a prebuilt workflow bundle (`kratix-temporal bundle` writes both): the same
 * workflows without the OpenTelemetry interceptor module.
 */
export function untracedBundlePath(bundle: string): string {
  return bundle.replace(/(\.js)?$/, '.untraced.js');
}

/**
 * The prebuilt bundle a worker runs: the untraced twin when tracing is off and it exists. Every
 * workflow evaluates its bundle's modules afresh (the SDK's per-workflow module cache), and the
 * OpenTelemetry ones are more than half of them (116 of 213), for interceptors that only act on
 * traced workflows (measured: worker CPU per 1,000 new Resources 118 → ~108 s).
 */
export function selectWorkflowBundle(
  bundle: string,
  traced: boolean,
  exists: (f: string) => boolean,
): string {
  const untraced = untracedBundlePath(bundle);
  return !traced && exists(untraced) ? untraced : bundle;
}

/**
 * What a worker needs: activity interceptors (a span per activity, child of the workflow's), the
 * workflow interceptor module, and the `exporter` sink the workflow isolate hands its spans to.
 * The interceptor module is bundled when tracing is on or `workflowModule` says so (replay: a
 * traced history replays as a tracing worker ran it), not for a prebuilt bundle (it has it or
 * was chosen without it). Interceptors add no commands, so a workflow traced by a tracing
 * controller still runs deterministically on an untraced worker (without workflow spans). Off,
 * the sink still exists and drops spans, so a workflow never calls an unknown sink.
 */
export function workerTracing(opts: { prebuiltBundle?: boolean; workflowModule?: boolean } = {}): {
  interceptors: WorkerInterceptors;
  sinks: InjectedSinks<{ exporter: { export(spans: unknown[]): void } }>;
} {
  const on = tracingExport();
  const workflowModules =
    !opts.prebuiltBundle && (on || opts.workflowModule) ? [workflowTracingModule()] : [];
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
