import type { IncomingMessage } from "node:http";
import type { FastifyBaseLogger, FastifyRequest, FastifyServerOptions } from "fastify";
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
 * child, so tracing costs no extra logger (the factory runs before any hook). The child is
 * made when the request first logs: most requests (a prediction that succeeds) log nothing,
 * and pino serializes a child's bindings as it makes it.
 */
export const tracedChildLogger: NonNullable<FastifyServerOptions["childLoggerFactory"]> = (logger, bindings, opts, rawReq) => {
  const trace = continueTrace(rawReq.headers);
  traces.set(rawReq, trace);
  // Fastify passes `{}` when a route sets no log options; pino builds a child much faster
  // without an options object (it skips re-deriving formatters and redaction per child).
  return new RequestLogger(() => logger.child({ ...bindings, ...traceFields(trace) }, hasOptions(opts) ? opts : undefined));
};

type Log = (...args: unknown[]) => void;

/** A request's logger that makes its pino child on first use and then hands every call to it. */
export class RequestLogger implements FastifyBaseLogger {
  readonly #make: () => FastifyBaseLogger;
  #made: FastifyBaseLogger | null = null;

  constructor(make: () => FastifyBaseLogger) {
    this.#make = make;
  }

  get #log(): FastifyBaseLogger {
    this.#made ??= this.#make();
    return this.#made;
  }

  get level(): FastifyBaseLogger["level"] {
    return this.#log.level;
  }

  set level(level: FastifyBaseLogger["level"]) {
    this.#log.level = level;
  }

  fatal(...args: unknown[]): void {
    (this.#log.fatal as Log)(...args);
  }

  error(...args: unknown[]): void {
    (this.#log.error as Log)(...args);
  }

  warn(...args: unknown[]): void {
    (this.#log.warn as Log)(...args);
  }

  info(...args: unknown[]): void {
    (this.#log.info as Log)(...args);
  }

  debug(...args: unknown[]): void {
    (this.#log.debug as Log)(...args);
  }

  trace(...args: unknown[]): void {
    (this.#log.trace as Log)(...args);
  }

  silent(...args: unknown[]): void {
    (this.#log.silent as Log)(...args);
  }

  child(...args: Parameters<FastifyBaseLogger["child"]>): FastifyBaseLogger {
    return this.#log.child(...args);
  }
}

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
