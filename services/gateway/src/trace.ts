import type { IncomingMessage } from "node:http";
import type { FastifyRequest, FastifyServerOptions } from "fastify";
import { continueTrace, traceFields, traceHeaders, type TraceContext } from "@asgard/telemetry";

/**
 * Every request is a span: a child of the client's `traceparent`, or the first span of a new
 * trace. Its ids are bound into `req.log`, returned in the response's `traceparent` and sent
 * as NATS headers on every request the route makes (`traced(req)`), so the services that
 * answer log the same trace id.
 */
const traces = new WeakMap<IncomingMessage, TraceContext>();

/**
 * Fastify makes one child logger per request anyway: the trace fields go into that same
 * child, so tracing costs no extra logger (the factory runs before any hook).
 */
export const tracedChildLogger: NonNullable<FastifyServerOptions["childLoggerFactory"]> = (logger, bindings, opts, rawReq) => {
  const trace = continueTrace(rawReq.headers);
  traces.set(rawReq, trace);
  // Fastify passes `{}` when a route sets no log options; pino builds a child much faster
  // without an options object (it skips re-deriving formatters and redaction per child).
  return logger.child({ ...bindings, ...traceFields(trace) }, hasOptions(opts) ? opts : undefined);
};

function hasOptions(opts: object | undefined): boolean {
  if (!opts) return false;
  for (const _ in opts) return true;
  return false;
}

/** The request's span. */
export function requestTrace(req: FastifyRequest): TraceContext {
  let trace = traces.get(req.raw);
  if (!trace) {
    trace = continueTrace(req.raw.headers);
    traces.set(req.raw, trace);
  }
  return trace;
}

/** Request options that carry the request's trace over NATS: `bus.request(def, body, traced(req))`. */
export function traced(req: FastifyRequest): { headers: Record<string, string> } {
  return { headers: traceHeaders(requestTrace(req)) };
}
