import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { APP_VERSION, INSTANCE_ID } from './instance';

/**
 * Optional OpenTelemetry tracing (docs/operations.md#traces): off — not a span made, not a header
 * read — unless OTEL_EXPORTER_OTLP_ENDPOINT (or …_TRACES_ENDPOINT) is set. Then a SCIM request is
 * a server span (continuing the IdP's `traceparent`), the run its changes start is its child (the
 * request's trace context is kept with its outbox row, so whichever instance takes it up continues
 * the trace), each operation of the run a child of the run (its trace context kept with the run),
 * and each Jira call a client span that sends `traceparent` on. Attributes name routes, kinds,
 * ids and statuses: never a secret, a token, a user's name or an email.
 */
let enabled = false;
let provider: BasicTracerProvider | undefined;
const propagator = new W3CTraceContextPropagator();
const tracer = () => trace.getTracer('idp-user-group-sync', APP_VERSION);

/** Whether spans are made (tracing was started with an endpoint). */
export const tracing = (): boolean => enabled;

/**
 * Starts tracing when the configuration names an OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT, or
 * …_TRACES_ENDPOINT); whether it is on. Once per process. The exporter reads its other OTEL_*
 * settings (headers, timeout) itself.
 */
export function startTracing(o: { tracesUrl?: string; serviceName: string }): boolean {
  if (enabled || !o.tracesUrl) return enabled;
  provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': o.serviceName,
      'service.version': APP_VERSION,
      'service.instance.id': INSTANCE_ID,
    }),
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: o.tracesUrl }), { scheduledDelayMillis: 1000 }),
    ],
  });
  // A process registers once; anything registered before (a test's earlier start) gives way.
  trace.disable();
  context.disable();
  propagation.disable();
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(propagator);
  enabled = true;
  return true;
}

/** Sends what is buffered (tests, and a stopping server). */
export async function flushTracing(): Promise<void> {
  await provider?.forceFlush();
}

/** The W3C `traceparent` of the active span, to keep with a row another instance may take up; null when none. */
export function currentTraceparent(): string | null {
  if (!enabled) return null;
  const carrier: Record<string, string> = {};
  propagator.inject(context.active(), carrier, {
    set: (c: Record<string, string>, k: string, v: string) => (c[k] = v),
  });
  return carrier.traceparent ?? null;
}

/** The context a stored `traceparent` (or incoming headers) names. */
function contextOf(headers: Record<string, string | string[] | undefined>): Context {
  type Carrier = Record<string, string | string[] | undefined>;
  return propagator.extract(ROOT_CONTEXT, headers, {
    get: (c: Carrier, k: string) => c[k],
    keys: (c: Carrier) => Object.keys(c),
  });
}

/**
 * Runs `fn` in a span (or just runs it when tracing is off): its parent is the first of the stored
 * `parents` (`traceparent` values), the others are links; the span ends, with an error status if
 * `fn` throws, when `fn` settles.
 */
export async function inSpan<T>(
  name: string,
  opts: { parents?: Array<string | null>; kind?: SpanKind; attributes?: Attributes },
  fn: (span?: Span) => Promise<T>,
): Promise<T> {
  if (!enabled) return fn();
  const parents = (opts.parents ?? []).filter((p): p is string => !!p);
  const parent = parents.length ? contextOf({ traceparent: parents[0] }) : context.active();
  const links: Link[] = parents
    .slice(1)
    .map((p) => trace.getSpanContext(contextOf({ traceparent: p })))
    .filter((c) => c !== undefined)
    .map((c) => ({ context: c }));
  const span = tracer().startSpan(name, { kind: opts.kind, attributes: opts.attributes, links }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.name ?? 'error' });
    throw err;
  } finally {
    span.end();
  }
}

/**
 * A server span for an incoming request, continuing the caller's `traceparent`; `next` runs inside
 * it, and the span ends with the answer (`status`). Undefined when tracing is off.
 */
export function serverSpan(
  name: string,
  headers: Record<string, string | string[] | undefined>,
  attributes: Attributes,
  next: () => void,
): { end: (status: number, more?: Attributes) => void } | undefined {
  if (!enabled) return undefined;
  const parent = contextOf(headers);
  const span = tracer().startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
  context.with(trace.setSpan(parent, span), next);
  return {
    end: (status, more = {}) => {
      span.setAttributes({ 'http.response.status_code': status, ...more });
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    },
  };
}

/** Adds the active span's `traceparent` to outgoing headers (W3C trace context); the headers as they were when off. */
export function withTraceHeaders(headers: Record<string, string> | undefined): Record<string, string> | undefined {
  const tp = currentTraceparent();
  return tp ? { ...headers, traceparent: tp } : headers;
}

export { SpanKind };
