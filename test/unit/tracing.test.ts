import { context, createTraceState, trace, TraceFlags } from '@opentelemetry/api';
import { pipelineTraceEnv, tracingConfigured } from '../../src/tracing.js';

describe('tracing configuration', () => {
  it('is on only with an OTLP endpoint, and off when the SDK or the trace exporter is disabled', () => {
    expect(tracingConfigured({})).toBe(false);
    expect(tracingConfigured({ OTEL_SERVICE_NAME: 'x' })).toBe(false);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })).toBe(true);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' })).toBe(true);
    expect(
      tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }),
    ).toBe(false);
    expect(
      tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }),
    ).toBe(false);
  });
});

describe('pipelineTraceEnv', () => {
  const traceId = '0af7651916cd43dd8448eb211c80319c';
  const spanId = 'b7ad6b7169203331';

  it('is the W3C traceparent of the active span, as upstream Kratix passes KRATIX_TRACE_PARENT', () => {
    const ctx = trace.setSpanContext(context.active(), { traceId, spanId, traceFlags: TraceFlags.SAMPLED });
    expect(pipelineTraceEnv(ctx)).toEqual({ KRATIX_TRACE_PARENT: `00-${traceId}-${spanId}-01` });
    const unsampled = trace.setSpanContext(context.active(), {
      traceId,
      spanId,
      traceFlags: TraceFlags.NONE,
    });
    expect(pipelineTraceEnv(unsampled)).toEqual({ KRATIX_TRACE_PARENT: `00-${traceId}-${spanId}-00` });
  });

  it('adds KRATIX_TRACE_STATE when the trace has a tracestate', () => {
    const ctx = trace.setSpanContext(context.active(), {
      traceId,
      spanId,
      traceFlags: TraceFlags.SAMPLED,
      traceState: createTraceState('vendor=abc'),
    });
    expect(pipelineTraceEnv(ctx)).toEqual({
      KRATIX_TRACE_PARENT: `00-${traceId}-${spanId}-01`,
      KRATIX_TRACE_STATE: 'vendor=abc',
    });
  });

  it('is empty when nothing is traced (tracing off)', () => {
    expect(pipelineTraceEnv(context.active())).toEqual({});
  });
});
