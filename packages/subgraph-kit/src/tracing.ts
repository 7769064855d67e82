import { context, propagation, trace, type Context } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  BatchSpanProcessor,
  NodeTracerProvider,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import { PrismaInstrumentation } from '@prisma/instrumentation';

/** The tracing settings every service reads (`tracingSettings()` of @carwash/config). */
export interface TracingSettings {
  /** OTLP/HTTP collector base URL (`…:4318`); unset: spans are made and propagated but not exported. */
  OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
}

export interface Tracing {
  /** Flushes spans not yet exported, then stops the provider. */
  shutdown(): Promise<void>;
}

let running: Tracing | undefined;

/**
 * Registers this process's OpenTelemetry tracer provider: W3C `traceparent` propagation, async-hooks
 * context, and an OTLP/HTTP exporter when an endpoint is set.
 *
 * With nothing to hand spans to (no endpoint, no `extra.spanProcessors`), spans are still started but
 * not recorded: the sampler says NOT_RECORD, and the SDK then returns a non-recording span that carries
 * a fresh span id in the caller's trace (or a new trace id), so trace ids still exist, reach logs and
 * travel to the next service in `traceparent` (flags `00`). No attributes, events or span objects are
 * kept, and Prisma's instrumentation (two spans per query and its context switches) is not registered.
 * Measured on the dashboard (test/bench/results/tuning-dashboard.md). With a processor, spans are
 * sampled as before (the SDK's default: parent-based, always on).
 *
 * Once per process: the API keeps one global provider, and tests run every service in one process (the
 * first caller names the resource then). @apollo/gateway emits its own spans through the same API
 * instance (pinned once in the workspace), so they join these traces.
 */
export function startTracing(
  service: string,
  settings: TracingSettings,
  /** Further processors (a test's in-memory exporter, another exporter). */
  extra: { spanProcessors?: SpanProcessor[] } = {},
): Tracing {
  if (running) return running;
  const spanProcessors: SpanProcessor[] = [...(extra.spanProcessors ?? [])];
  if (settings.OTEL_EXPORTER_OTLP_ENDPOINT) {
    const url = new URL('v1/traces', settings.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/?$/, '/')).toString();
    spanProcessors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url })));
  }
  const recording = spanProcessors.length > 0;
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors,
    // Recording: the SDK's default sampler (parent-based, always on; OTEL_TRACES_SAMPLER may change it).
    ...(recording ? {} : { sampler: new AlwaysOffSampler() }),
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  if (recording)
    registerInstrumentations({ tracerProvider: provider, instrumentations: [new PrismaInstrumentation()] });
  running = { shutdown: () => provider.shutdown() };
  return running;
}

/** The trace and span id of the active span, for log lines (nothing outside a valid trace). */
export function activeTraceIds(ctx: Context = context.active()): { traceId?: string; spanId?: string } {
  const span = trace.getSpan(ctx);
  if (!span) return {};
  const { traceId, spanId, traceFlags } = span.spanContext();
  if (!trace.isSpanContextValid({ traceId, spanId, traceFlags })) return {};
  return { traceId, spanId };
}

/** Writes the active trace context (`traceparent`) into outgoing request headers. */
export function injectTraceContext(headers: { set(name: string, value: string): void }): void {
  propagation.inject(context.active(), headers, {
    set: (carrier, key, value) => carrier.set(key, value),
  });
}
