import { context, propagation, trace } from '@opentelemetry/api';
import { afterAll, describe, expect, it } from 'vitest';
import { activeTraceIds, injectTraceContext, startTracing } from '../src/tracing.js';

// The first startTracing of a process wins: this file's, with no exporter and no processor.
const tracing = startTracing('tracing-test', {});
afterAll(() => tracing.shutdown());

const headers = () => {
  const map = new Map<string, string>();
  return { map, set: (name: string, value: string) => void map.set(name, value) };
};

describe(startTracing.name, () => {
  const tracer = trace.getTracer('tracing-test');

  it('records nothing without an exporter, yet gives every span a trace id for the logs', () => {
    const span = tracer.startSpan('root');
    expect(span.isRecording()).toBe(false);
    const ids = context.with(trace.setSpan(context.active(), span), () => activeTraceIds());
    expect(ids.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(ids.traceId).not.toBe('0'.repeat(32));
    expect(ids.spanId).toMatch(/^[0-9a-f]{16}$/);
    span.end();
  });

  it('continues a caller’s trace and sends it on in traceparent, through awaits', async () => {
    const traceId = 'ab'.repeat(16);
    const parent = propagation.extract(context.active(), {
      traceparent: `00-${traceId}-${'cd'.repeat(8)}-01`,
    });
    const span = tracer.startSpan('server', {}, parent);
    const out = headers();
    await context.with(trace.setSpan(parent, span), async () => {
      await new Promise((r) => setTimeout(r, 1));
      injectTraceContext(out);
    });
    span.end();
    const sent = out.map.get('traceparent');
    expect(sent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-0[01]$`));
    // A span of its own (a new span id), not the caller's.
    expect(sent).not.toContain('cd'.repeat(8));
  });
});
