import { randomBytes } from 'node:crypto';
import type {
  Attributes,
  Context,
  Exception,
  Link,
  Span,
  SpanAttributeValue,
  SpanContext,
  SpanKind,
  SpanOptions,
  SpanStatus,
  Tracer,
  TracerProvider,
} from '@opentelemetry/api';
import { context, trace } from '@opentelemetry/api';

/**
 * The smallest tracer that records: enough of an OpenTelemetry SDK for tests to see which spans
 * the server made, with which parent, attributes and links. Every span is sampled.
 */
export class RecordedSpan implements Span {
  readonly name: string;
  readonly kind: SpanKind | undefined;
  readonly attributes: Attributes;
  readonly links: Link[];
  /** The span context of the parent, or undefined for a root span. */
  readonly parent: SpanContext | undefined;
  readonly exceptions: Exception[] = [];
  status: SpanStatus = { code: 0 };
  ended = false;
  readonly #context: SpanContext;
  readonly #onEnd: (span: RecordedSpan) => void;

  constructor(
    name: string,
    options: SpanOptions,
    parent: SpanContext | undefined,
    onEnd: (span: RecordedSpan) => void,
  ) {
    this.name = name;
    this.kind = options.kind;
    this.attributes = { ...options.attributes };
    this.links = [...(options.links ?? [])];
    this.parent = parent;
    this.#onEnd = onEnd;
    this.#context = {
      traceId: parent?.traceId ?? randomBytes(16).toString('hex'),
      spanId: randomBytes(8).toString('hex'),
      traceFlags: 1,
    };
  }

  spanContext(): SpanContext {
    return this.#context;
  }

  setAttribute(key: string, value: SpanAttributeValue): this {
    this.attributes[key] = value;
    return this;
  }

  setAttributes(attributes: Attributes): this {
    Object.assign(this.attributes, attributes);
    return this;
  }

  addEvent(): this {
    return this;
  }

  addLink(link: Link): this {
    this.links.push(link);
    return this;
  }

  addLinks(links: Link[]): this {
    this.links.push(...links);
    return this;
  }

  setStatus(status: SpanStatus): this {
    this.status = status;
    return this;
  }

  updateName(): this {
    return this;
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.#onEnd(this);
  }

  isRecording(): boolean {
    return !this.ended;
  }

  recordException(exception: Exception): void {
    this.exceptions.push(exception);
  }
}

export class RecordingTracerProvider implements TracerProvider {
  /** Ended spans, in the order they ended. */
  readonly spans: RecordedSpan[] = [];
  readonly #tracer: Tracer;
  #waiters: { match: (span: RecordedSpan) => boolean; resolve: (span: RecordedSpan) => void }[] = [];

  constructor() {
    const record = (span: RecordedSpan) => {
      this.spans.push(span);
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.match(span)) return true;
        w.resolve(span);
        return false;
      });
    };
    const startSpan = (name: string, options: SpanOptions = {}, ctx: Context = context.active()) =>
      new RecordedSpan(name, options, options.root === true ? undefined : trace.getSpanContext(ctx), record);
    this.#tracer = {
      startSpan,
      startActiveSpan(name: string, ...rest: unknown[]) {
        const fn = rest.pop() as (span: Span) => unknown;
        const options = (rest[0] ?? {}) as SpanOptions;
        const ctx = (rest[1] ?? context.active()) as Context;
        const span = startSpan(name, options, ctx);
        return context.with(trace.setSpan(ctx, span), fn, undefined, span);
      },
    } as Tracer;
  }

  getTracer(): Tracer {
    return this.#tracer;
  }

  /** The first ended span matching, already recorded or to come. Callers bound the wait. */
  next(match: (span: RecordedSpan) => boolean): Promise<RecordedSpan> {
    const seen = this.spans.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }
}
