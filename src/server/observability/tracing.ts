import type { Attributes, Context, Link, Span, SpanContext } from '@opentelemetry/api';
import {
  context,
  createTraceState,
  ProxyTracerProvider,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { SbmpError } from '../../core/errors.js';
import type { Snapshot, TraceContext } from '../../core/snapshot.js';
import type { PutOutcome, SnapshotInput } from '../../store/types.js';
import { formatTraceparent, parseTraceparent } from './trace-context.js';

/**
 * Spans through `@opentelemetry/api`. Without an SDK installed by the host application the API
 * hands out non-recording spans, so all of this costs a few small objects per publish and
 * nothing per delivery of an untraced snapshot.
 *
 *   producer span ──parent──► sbmp.publish (SERVER) ──parent──► sbmp.deliver (PRODUCER, one per
 *                                                               written batch; links to every
 *                                                               traced snapshot in it)
 *
 * The tracer is looked up on every use rather than kept, so an SDK registered after the
 * server started (or replaced between tests) is picked up.
 */

/** Instrumentation scope name of every SBMP span. */
export const TRACER_NAME = 'sbmp';
/** Most links one delivery span carries (a batch may hold hundreds of traced snapshots). Default 32. */
export const MAX_DELIVERY_LINKS = 32;

function tracer() {
  return trace.getTracer(TRACER_NAME);
}

/**
 * True when a tracing SDK is registered. Without one, the API's spans record nothing and its
 * context manager keeps nothing, so the publish path can skip making them: that saved about a
 * tenth of the server's heap allocation per publish (heap sampling of the 1 -> 1 benchmark).
 * Checked on every call, so an SDK registered later is picked up.
 */
export function tracingEnabled(): boolean {
  const provider = trace.getTracerProvider();
  if (!(provider instanceof ProxyTracerProvider)) return true;
  return provider.getDelegateTracer(TRACER_NAME) !== undefined;
}

/** The remote span context of a stored or incoming trace; undefined when it does not parse. */
export function spanContextOf(traceContext: TraceContext): SpanContext | undefined {
  let parts: ReturnType<typeof parseTraceparent>;
  try {
    parts = parseTraceparent(traceContext.traceparent);
  } catch {
    return undefined;
  }
  const spanContext: SpanContext = {
    traceId: parts.traceId,
    spanId: parts.spanId,
    traceFlags: parts.flags,
    isRemote: true,
  };
  if (traceContext.tracestate !== undefined)
    spanContext.traceState = createTraceState(traceContext.tracestate);
  return spanContext;
}

/** A publish in progress: its span, the context to run the store call in, and the input to store. */
export interface PublishSpan {
  readonly span: Span;
  readonly context: Context;
  /**
   * The input with its trace context pointing at the `sbmp.publish` span when that span is
   * recording, so deliveries become its children; otherwise the input as given.
   */
  readonly input: SnapshotInput;
}

/**
 * Starts `sbmp.publish` as a child of the snapshot's own trace context (or of the active
 * context when the publish carries none), with `sbmp.key`, `sbmp.transport` and the requested
 * `sbmp.version`.
 */
export function startPublishSpan(input: SnapshotInput, transport: string): PublishSpan {
  const incoming = input.trace === undefined ? undefined : spanContextOf(input.trace);
  const active = context.active();
  const parent = incoming === undefined ? active : trace.setSpanContext(active, incoming);
  const attributes: Attributes = { 'sbmp.key': input.key, 'sbmp.transport': transport };
  if (input.version !== undefined) attributes['sbmp.version'] = input.version;
  if (input.deleted === true) attributes['sbmp.deleted'] = true;
  const span = tracer().startSpan('sbmp.publish', { kind: SpanKind.SERVER, attributes }, parent);
  const runIn = trace.setSpan(parent, span);
  if (!span.isRecording()) return { span, context: runIn, input };
  const own = span.spanContext();
  const traceContext: { traceparent: string; tracestate?: string } = {
    traceparent: formatTraceparent({ traceId: own.traceId, spanId: own.spanId, flags: own.traceFlags }),
  };
  if (input.trace?.tracestate !== undefined) traceContext.tracestate = input.trace.tracestate;
  return { span, context: runIn, input: { ...input, trace: traceContext } };
}

/** Ends `sbmp.publish` with the outcome: `sbmp.result`, `sbmp.version`, `sbmp.revision`. */
export function endPublishSpan(publish: PublishSpan, outcome: PutOutcome): void {
  const { span } = publish;
  if (span.isRecording()) {
    span.setAttributes({
      'sbmp.result': outcome.result,
      'sbmp.version': outcome.version,
      'sbmp.revision': outcome.revision,
    });
  }
  span.end();
}

/** Ends `sbmp.publish` as failed: `sbmp.result = error`, the error code, the exception, status ERROR. */
export function failPublishSpan(publish: PublishSpan, error: SbmpError): void {
  const { span } = publish;
  if (span.isRecording()) {
    span.setAttributes({ 'sbmp.result': 'error', 'sbmp.error.code': error.code });
    span.recordException(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  }
  span.end();
}

/** What a delivery span says about where the batch went. */
export interface DeliveryTarget {
  readonly transport: 'ws' | 'sse';
  readonly connection: number;
  readonly subscription: number;
}

/**
 * Starts `sbmp.deliver` for one written batch, or returns undefined when no snapshot in it
 * carries a trace (untraced traffic makes no spans at all). When every traced snapshot of the
 * batch shares one trace context, that context is the parent; the span links to each distinct
 * traced snapshot either way (at most `MAX_DELIVERY_LINKS`). The caller ends it once written.
 */
export function startDeliverySpan(
  entries: readonly { readonly snapshot: Snapshot }[],
  target: DeliveryTarget,
): Span | undefined {
  let first: TraceContext | undefined;
  let distinct: Map<string, TraceContext> | undefined;
  for (let i = 0; i < entries.length; i++) {
    const traced = entries[i]!.snapshot.trace;
    if (traced === undefined) continue;
    if (first === undefined) first = traced;
    else if (traced.traceparent !== first.traceparent) {
      distinct ??= new Map([[first.traceparent, first]]);
      if (distinct.size < MAX_DELIVERY_LINKS) distinct.set(traced.traceparent, traced);
    }
  }
  if (first === undefined) return undefined;
  const links: Link[] = [];
  for (const traced of distinct?.values() ?? [first]) {
    const linked = spanContextOf(traced);
    if (linked !== undefined) links.push({ context: linked });
  }
  const only = distinct === undefined ? links[0]?.context : undefined;
  const active = context.active();
  const parent = only === undefined ? active : trace.setSpanContext(active, only);
  const attributes: Attributes = {
    'sbmp.transport': target.transport,
    'sbmp.connection': target.connection,
    'sbmp.subscription': target.subscription,
    'sbmp.batch.entries': entries.length,
  };
  if (entries.length === 1) {
    const snapshot = entries[0]!.snapshot;
    attributes['sbmp.key'] = snapshot.key;
    attributes['sbmp.version'] = snapshot.version;
  }
  return tracer().startSpan('sbmp.deliver', { kind: SpanKind.PRODUCER, attributes, links }, parent);
}
