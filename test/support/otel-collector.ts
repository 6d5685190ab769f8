// A real OTLP receiver for the tests: the minimal OpenTelemetry Collector that
// `scripts/build-infra.sh otelcol` builds (OTLP in, spans appended to a file as OTLP JSON lines).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { resolveBinary } from '../../src/infra/binaries.js';
import { freePorts } from '../../src/infra/ports.js';
import { ProcessGroup } from '../../src/infra/process-group.js';
import { waitFor } from '../../src/infra/wait.js';

export interface Collector {
  /** OTLP/HTTP base URL, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  endpoint: string;
  /** Where received spans are written (OTLP JSON, one export request per line). */
  spansFile: string;
  stop(): Promise<void>;
}

/** Starts the collector on free loopback ports; its config, log and spans live in `dir`. */
export async function startCollector(dir: string): Promise<Collector> {
  const [http, grpc] = await freePorts(2);
  const spansFile = path.join(dir, 'spans.jsonl');
  const config = path.join(dir, 'otelcol.yaml');
  writeFileSync(
    config,
    [
      'receivers:',
      '  otlp:',
      '    protocols:',
      `      http: { endpoint: "127.0.0.1:${http}" }`,
      `      grpc: { endpoint: "127.0.0.1:${grpc}" }`,
      'exporters:',
      `  file: { path: "${spansFile}", flush_interval: 100ms }`,
      'service:',
      // No self-monitoring endpoint: it would take a fixed port (8888).
      '  telemetry: { metrics: { level: none }, logs: { level: warn } }',
      '  pipelines:',
      '    traces: { receivers: [otlp], exporters: [file] }',
      '',
    ].join('\n'),
  );
  const group = new ProcessGroup();
  const proc = group.start('otelcol', resolveBinary('otelcol'), ['--config', config], {
    logFile: path.join(dir, 'otelcol.log'),
  });
  const endpoint = `http://127.0.0.1:${http}`;
  try {
    // Ready once an empty export is accepted.
    await waitFor(
      'the OTLP receiver',
      async () => {
        if (proc.child.exitCode !== null) throw new Error(`otelcol exited; see ${dir}/otelcol.log`);
        const res = await fetch(`${endpoint}/v1/traces`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: '{"resourceSpans":[]}',
        });
        return res.ok ? true : undefined;
      },
      { timeoutMs: 30_000 },
    );
  } catch (err) {
    await group.stop();
    throw err;
  }
  return { endpoint, spansFile, stop: () => group.stop() };
}

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  service: string;
  attributes: Record<string, unknown>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        attributes?: OtlpAttribute[];
      }[];
    }[];
  }[];
}

const value = (v: OtlpValue) => v.stringValue ?? v.intValue ?? v.boolValue ?? v.doubleValue;
const attributes = (list: OtlpAttribute[] = []) =>
  Object.fromEntries(list.map((a) => [a.key, value(a.value)]));

/** Every span the collector wrote so far (the file exporter writes ids as hex). */
export function receivedSpans(spansFile: string): ReceivedSpan[] {
  if (!existsSync(spansFile)) return [];
  const out: ReceivedSpan[] = [];
  for (const line of readFileSync(spansFile, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let data: OtlpExport;
    try {
      data = JSON.parse(line) as OtlpExport;
    } catch {
      continue; // a line being written right now
    }
    for (const rs of data.resourceSpans ?? []) {
      const service = String(attributes(rs.resource?.attributes)['service.name'] ?? '');
      for (const ss of rs.scopeSpans ?? [])
        for (const s of ss.spans ?? [])
          out.push({
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ?? '',
            name: s.name,
            service,
            attributes: attributes(s.attributes),
          });
    }
  }
  return out;
}
