// OpenTelemetry tracing, on only when an OTLP endpoint is configured (the standard OTEL_* variables):
// off, nothing is registered, so every span call below is the API's no-op and Temporal gets no
// interceptors or trace headers.
import {
  context,
  isSpanContextValid,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { detectResourcesSync, envDetectorSync, Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { PROJECT_VERSION } from './package-root.js';

export interface TracingOptions {
  /** OTLP/HTTP base URL (…/v1/traces is appended); default: OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT. */
  endpoint?: string;
  /** service.name when OTEL_SERVICE_NAME does not set one. */
  serviceName?: string;
}

interface Active {
  provider: NodeTracerProvider;
  processor: SpanProcessor;
  resource: Resource;
}

let active: Active | undefined;

const TRACER = 'kratix-temporal';

/** Whether the environment asks for traces: an OTLP endpoint, and not switched off. */
export function tracingConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none') return false;
  return !!(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * Starts exporting spans over OTLP/HTTP (JSON bodies, which every OTLP/HTTP receiver accepts) when
 * `opts.endpoint` is given or the environment configures one; otherwise does nothing and returns
 * false. Once per process. The exporter reads the other OTEL_EXPORTER_OTLP_* variables (headers,
 * timeout, certificates) itself.
 */
export function startTracing(opts: TracingOptions = {}): boolean {
  if (active) return true;
  if (!opts.endpoint && !tracingConfigured()) return false;
  const resource = Resource.default()
    .merge(
      new Resource({
        'service.name': opts.serviceName ?? 'kratix-temporal',
        'service.version': PROJECT_VERSION,
      }),
    )
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win.
    .merge(detectResourcesSync({ detectors: [envDetectorSync] }));
  const exporter = new OTLPTraceExporter(
    opts.endpoint ? { url: `${opts.endpoint.replace(/\/+$/, '')}/v1/traces` } : {},
  );
  const processor = new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000 });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  // Global tracer provider, W3C trace-context propagator and an AsyncLocalStorage context manager.
  provider.register();
  active = { provider, processor, resource };
  return true;
}

/** Exports what is buffered and stops (process exit, tests). */
export async function stopTracing(): Promise<void> {
  const a = active;
  active = undefined;
  if (!a) return;
  await a.provider.shutdown();
  trace.disable();
  context.disable();
}

export function tracingEnabled(): boolean {
  return active !== undefined;
}

/** The span processor and resource, for the Temporal workflow span sink (src/temporal/tracing.ts). */
export function tracingExport(): { processor: SpanProcessor; resource: Resource } | undefined {
  return active && { processor: active.processor, resource: active.resource };
}

/**
 * Runs `fn` in a new span (child of the active one, or of `opts.parent`), recording an exception
 * and an error status when it throws. A no-op span when tracing is off.
 */
export function withSpan<T>(
  name: string,
  opts: { attributes?: Attributes; kind?: SpanKind; parent?: Context; links?: Link[] },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const tracer = trace.getTracer(TRACER, PROJECT_VERSION);
  return tracer.startActiveSpan(
    name,
    { attributes: opts.attributes, kind: opts.kind ?? SpanKind.INTERNAL, links: opts.links },
    opts.parent ?? context.active(),
    async (span) => {
      try {
        return await fn(span);
      } catch (err) {
        span.recordException(err instanceof Error ? err : String(err));
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: err instanceof Error ? err.message : String(err),
        });
        throw err;
      } finally {
        span.end();
      }
    },
  );
}

/**
 * The active span as upstream Kratix hands it to pipelines: `KRATIX_TRACE_PARENT` (a W3C
 * `traceparent`) and, when there is one, `KRATIX_TRACE_STATE`. Empty when nothing is traced.
 */
export function pipelineTraceEnv(ctx: Context = context.active()): Record<string, string> {
  const sc = trace.getSpanContext(ctx);
  if (!sc || !isSpanContextValid(sc)) return {};
  const flags = (sc.traceFlags & 0xff).toString(16).padStart(2, '0');
  const state = sc.traceState?.serialize();
  return {
    KRATIX_TRACE_PARENT: `00-${sc.traceId}-${sc.spanId}-${flags}`,
    ...(state ? { KRATIX_TRACE_STATE: state } : {}),
  };
}

export { SpanKind };
