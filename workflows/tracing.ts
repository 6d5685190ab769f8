// Workflow interceptors for OpenTelemetry (bundled with the workflows: src/temporal/tracing.ts).
// Active only in a workflow whose start or trigger signal carried a trace header (a tracing
// controller or parent): otherwise every call goes straight through, so untraced workflows and
// recorded histories run exactly as without this module. Spans leave the isolate through the
// worker's `exporter` sink, which is not called during replay.
//
// Entity workflows (the Promise and Resource lifecycles) live for months, so a span around their
// whole execution would never end. Each change instead gets its own trace: the work that follows
// a `changed`/`reconcile`/`delete` signal (child runs, activities) joins the trace of the watch
// event that sent it, and a run started by the reconcile timer starts a new trace.
import * as otel from '@opentelemetry/api';
import {
  OpenTelemetryInboundInterceptor,
  OpenTelemetryInternalsInterceptor,
  OpenTelemetryOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/workflow/index.js';
import { extractContextFromHeaders } from '@temporalio/interceptors-opentelemetry/lib/instrumentation.js';
import {
  workflowInfo,
  type Headers,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptors,
  type WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';

/** The header the Temporal OpenTelemetry interceptors carry the trace context in. */
const TRACE_HEADER = '_tracer-data';
const ENTITY_WORKFLOWS = new Set(['promiseLifecycle', 'resourceLifecycle']);
const TRIGGER_SIGNALS = new Set(['changed', 'reconcile', 'delete']);

type Out = WorkflowOutboundCallsInterceptor;
/** Outbound calls that carry the trace on (headers): spans are made for them when traced. */
const PROPAGATING = [
  'scheduleActivity',
  'scheduleLocalActivity',
  'startChildWorkflowExecution',
  'signalWorkflow',
  'continueAsNew',
] as const;
type Propagating = (typeof PROPAGATING)[number];
type Call = (input: unknown, next: (input: unknown) => unknown) => unknown;

export const interceptors = (): WorkflowInterceptors => {
  let otelIn: OpenTelemetryInboundInterceptor | undefined;
  let otelOut: OpenTelemetryOutboundInterceptor | undefined;
  let otelInternals: OpenTelemetryInternalsInterceptor | undefined;
  /** Set once a trace header arrived; decided by history only, so replays decide the same way. */
  let traced = false;
  /** Entity workflows: the context the next outbound calls belong to (undefined: a new trace). */
  let trigger: otel.Context | undefined;

  // Constructing the OpenTelemetry interceptors registers the isolate's tracer and propagator.
  const enable = () => {
    if (!otelIn) {
      otelIn = new OpenTelemetryInboundInterceptor();
      otelOut = new OpenTelemetryOutboundInterceptor();
      otelInternals = new OpenTelemetryInternalsInterceptor();
    }
    traced = true;
  };
  const hasTrace = (headers: Headers) => TRACE_HEADER in headers;
  const entity = () => ENTITY_WORKFLOWS.has(workflowInfo().workflowType);
  const tracer = () => otel.trace.getTracer('kratix-temporal-workflow');

  /** A marker span (ended at once) under `parent` whose context the following work joins. */
  const mark = (name: string, parent: otel.Context | undefined, attributes: otel.Attributes = {}) => {
    const info = workflowInfo();
    const span = tracer().startSpan(
      name,
      { root: parent === undefined, attributes: { temporalWorkflowId: info.workflowId, ...attributes } },
      parent ?? otel.ROOT_CONTEXT,
    );
    span.end();
    return otel.trace.setSpan(otel.ROOT_CONTEXT, span);
  };

  const outbound =
    (method: Propagating): Call =>
    (input, next) => {
      if (!traced) return next(input);
      const call = () => (otelOut![method] as unknown as Call).call(otelOut, input, next);
      if (!entity()) return call();
      trigger ??= mark(`Reconcile:${workflowInfo().workflowType}`, undefined);
      return otel.context.with(trigger, call);
    };
  const propagating = Object.fromEntries(PROPAGATING.map((m) => [m, outbound(m)])) as Partial<Out>;

  const inbound: WorkflowInboundCallsInterceptor = {
    async execute(input, next) {
      if (!hasTrace(input.headers)) return next(input);
      enable();
      if (!entity()) return otelIn!.execute(input, next);
      trigger = mark(
        `StartWorkflow:${workflowInfo().workflowType}`,
        extractContextFromHeaders(input.headers),
      );
      return next(input);
    },
    async handleSignal(input, next) {
      if (!hasTrace(input.headers)) return next(input);
      enable();
      if (!entity()) return otelIn!.handleSignal(input, next);
      if (TRIGGER_SIGNALS.has(input.signalName))
        trigger = mark(`HandleSignal:${input.signalName}`, extractContextFromHeaders(input.headers));
      return next(input);
    },
  };

  const out: WorkflowOutboundCallsInterceptor = {
    ...propagating,
    async startTimer(input, next) {
      // An entity waiting for its reconcile timer: whatever wakes it next starts a new trace
      // (unless a signal brings one).
      if (traced && entity()) trigger = undefined;
      return next(input);
    },
    getLogAttributes(input, next) {
      return traced && !entity() ? otelOut!.getLogAttributes(input, next) : next(input);
    },
  };

  return {
    inbound: [inbound],
    outbound: [out],
    internals: [
      {
        dispose(input, next) {
          if (otelInternals) void otelInternals.dispose(input, next);
          else next(input);
        },
      },
    ],
  };
};
