import { randomFillSync } from "node:crypto";

/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` header carried
 * from the HTTP request through NATS headers, so one trace id finds a job in every service's
 * logs. Only propagation and log fields — no spans are recorded or exported.
 */
export interface TraceContext {
  /** 32 lowercase hex digits, not all zeros; shared by every span of the trace. */
  traceId: string;
  /** 16 lowercase hex digits, not all zeros: this process's span (the parent-id it sends on). */
  spanId: string;
  /** 2 lowercase hex digits; bit 0 is `sampled`. */
  flags: string;
  /** The vendor list as received, passed on unchanged; absent when none came. */
  tracestate?: string;
}

/** Header names, as the spec and every HTTP/NATS client spell them. */
export const TRACEPARENT_HEADER = "traceparent";
export const TRACESTATE_HEADER = "tracestate";

/** A new trace is sampled: every log line of it is kept. */
const SAMPLED = "01";
const ZERO_TRACE_ID = "0".repeat(32);
const ZERO_SPAN_ID = "0".repeat(16);
/** The spec lets a vendor drop a longer tracestate rather than parse it. */
const MAX_TRACESTATE_LENGTH = 512;

/**
 * version-traceid-parentid-flags. A version after 00 may append fields after a `-`; its first
 * four are read as version 00's (the spec's forward compatibility).
 */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/s;
/** Printable ASCII only: a NATS header value must not carry CR/LF. */
const TRACESTATE_CHARS = /^[\x20-\x7e]*$/;

/**
 * Reads a `traceparent` value; null when it is absent or malformed (the caller starts a new
 * trace, as the spec asks). Uppercase hex, a zero trace or parent id and version `ff` are malformed.
 */
export function parseTraceparent(value: string | null | undefined): Omit<TraceContext, "tracestate"> | null {
  if (typeof value !== "string") return null;
  const m = TRACEPARENT.exec(value.trim());
  if (!m) return null;
  const [, version, traceId, spanId, flags, rest] = m as unknown as [string, string, string, string, string, string | undefined];
  if (version === "ff" || (version === "00" && rest !== undefined)) return null;
  if (traceId === ZERO_TRACE_ID || spanId === ZERO_SPAN_ID) return null;
  return { traceId, spanId, flags };
}

/** `00-<trace-id>-<span-id>-<flags>`: what this process sends as the parent of the next hop. */
export function formatTraceparent(ctx: TraceContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.flags}`;
}

/** A new trace with its first span. */
export function newTrace(): TraceContext {
  return { traceId: randomHex(16, ZERO_TRACE_ID), spanId: randomHex(8, ZERO_SPAN_ID), flags: SAMPLED };
}

/** This process's span inside `parent`'s trace: the same trace id and flags, a new span id. */
export function childSpan(parent: TraceContext): TraceContext {
  const child: TraceContext = { traceId: parent.traceId, spanId: randomHex(8, ZERO_SPAN_ID), flags: parent.flags };
  if (parent.tracestate !== undefined) child.tracestate = parent.tracestate;
  return child;
}

type HeaderValue = string | string[] | undefined;

/**
 * The span of work started by a message or request with these headers: a child of the
 * `traceparent` it carries, or a new trace when it carries none (or a malformed one, whose
 * `tracestate` is then dropped too). Works on Node's HTTP headers and on NATS header records.
 */
export function continueTrace(headers: Readonly<Record<string, HeaderValue>> | undefined): TraceContext {
  const parent = parseTraceparent(single(headerValue(headers, TRACEPARENT_HEADER)));
  if (!parent) return newTrace();
  const child = childSpan(parent);
  const state = tracestateOf(headerValue(headers, TRACESTATE_HEADER));
  if (state !== undefined) child.tracestate = state;
  return child;
}

/** Reads a stored `traceparent`/`tracestate` pair (e.g. a job row) as the context to send on. */
export function storedTrace(traceparent: string | null | undefined, tracestate?: string | null): TraceContext | null {
  const parsed = parseTraceparent(traceparent);
  if (!parsed) return null;
  const state = tracestateOf(tracestate ?? undefined);
  return state === undefined ? parsed : { ...parsed, tracestate: state };
}

/** The headers that carry `ctx` to the next hop (HTTP response, NATS request or publish). */
export function traceHeaders(ctx: TraceContext): Record<string, string> {
  const headers: Record<string, string> = { [TRACEPARENT_HEADER]: formatTraceparent(ctx) };
  if (ctx.tracestate !== undefined) headers[TRACESTATE_HEADER] = ctx.tracestate;
  return headers;
}

/** Fields bound into a pino child logger, so every line of the work names its trace. */
export function traceFields(ctx: TraceContext): { trace_id: string; span_id: string } {
  return { trace_id: ctx.traceId, span_id: ctx.spanId };
}

function headerValue(headers: Readonly<Record<string, HeaderValue>> | undefined, name: string): HeaderValue {
  if (!headers) return undefined;
  const exact = headers[name];
  if (exact !== undefined) return exact;
  // NATS keeps a header's spelling; another client may have sent `Traceparent`.
  for (const key of Object.keys(headers)) if (key.toLowerCase() === name) return headers[key];
  return undefined;
}

/** Two traceparent headers are malformed; Node joins repeated unknown headers with ", " anyway. */
function single(value: HeaderValue): string | undefined {
  if (Array.isArray(value)) return value.length === 1 ? value[0] : undefined;
  return value;
}

/** Repeated tracestate headers are one list (the spec); too long or unprintable: dropped. */
function tracestateOf(value: HeaderValue): string | undefined {
  const joined = Array.isArray(value) ? value.join(",") : value;
  if (joined === undefined) return undefined;
  const state = joined.trim();
  if (state === "" || state.length > MAX_TRACESTATE_LENGTH || !TRACESTATE_CHARS.test(state)) return undefined;
  return state;
}

// Ids come from a pooled buffer: one getrandom call per 512 ids instead of one per id, as the
// gateway makes a span for every request (predictions included).
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let poolOffset = POOL_BYTES;

function randomHex(bytes: number, zero: string): string {
  for (;;) {
    if (poolOffset + bytes > POOL_BYTES) {
      randomFillSync(pool);
      poolOffset = 0;
    }
    const hex = pool.toString("hex", poolOffset, poolOffset + bytes);
    poolOffset += bytes;
    if (hex !== zero) return hex;
  }
}
