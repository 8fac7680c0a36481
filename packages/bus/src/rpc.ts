import { rpcQueueGroup, rpcReply, type ErrorCode, type FieldIssue, type RpcDef, type RpcRequest, type RpcResponse } from "@asgard/contracts";
import type { Msg, Subscription } from "@nats-io/nats-core";
import { parseTraceparent, TRACEPARENT_HEADER } from "@asgard/telemetry";
import { decodeJson, encodeJson, headersToRecord, parseWith, recordToHeaders } from "./codec.js";
import { InFlight, requireConnected, type BusContext } from "./context.js";
import { asBusError, BusError, describeError, errorChainHas, RemoteError } from "./errors.js";

/** What a request handler receives besides the request itself. */
export interface RpcContext {
  headers: Record<string, string>;
  /**
   * Milliseconds left before the caller stops waiting for this reply. A handler that may
   * take long answers within it, so the caller hears why rather than a bare timeout.
   */
  remainingMs(): number;
}

/**
 * How long the caller waits, sent with every request (the idea of gRPC's `grpc-timeout`): a
 * duration rather than a point in time, so the two hosts' clocks need not agree.
 */
export const TIMEOUT_HEADER = "Asgard-Timeout-Ms";

/** The caller's wait from the header, else the endpoint's own (a caller that predates the header). */
function callerWaitMs(headers: Record<string, string>, def: RpcDef): number {
  const sent = Number(headers[TIMEOUT_HEADER]);
  return Number.isFinite(sent) && sent > 0 ? sent : def.timeoutMs;
}

export type RpcHandler<D extends RpcDef> = (req: RpcRequest<D>, ctx: RpcContext) => Promise<RpcResponse<D>>;

/** Options of one request. */
export interface RequestOptions {
  /** Default: the endpoint's `timeoutMs`. */
  timeoutMs?: number;
  headers?: Record<string, string>;
  /**
   * The caller built `req` in this process from input it had already checked against the same
   * rules (the gateway from an HTTP body it parsed with the contract), so it goes on the wire
   * without a second parse: on a prediction that parse was a measurable share of the gateway's
   * CPU. The serving side validates every request it receives all the same. Only for requests
   * the endpoint's schema would pass unchanged (no defaults or transforms to apply).
   */
  validated?: boolean;
}

type ErrorReply = { ok: false; error: { code: ErrorCode; message: string; issues?: FieldIssue[]; retry_after_seconds?: number } };

/** The message a caller sees for an unexpected failure; the real one stays in the server's log. */
const INTERNAL_MESSAGE = "internal error";

function errorReply(err: BusError): ErrorReply {
  const error: ErrorReply["error"] = { code: err.code, message: err.message };
  if (err.issues) error.issues = err.issues;
  if (err.retryAfterSeconds !== undefined) error.retry_after_seconds = err.retryAfterSeconds;
  return { ok: false, error };
}

/** The trace id the request carried, so a failure's log line joins its trace. */
function traceOf(headers: Record<string, string>): { trace_id?: string } {
  const parent = parseTraceparent(headers[TRACEPARENT_HEADER]);
  return parent ? { trace_id: parent.traceId } : {};
}

/**
 * Serves an endpoint in its queue group, so replicas share the requests. Every reply is
 * `{ ok: true, result }` or `{ ok: false, error }`; only BusErrors keep their message.
 */
export function serveRpc<D extends RpcDef>(
  ctx: BusContext,
  def: D,
  handler: RpcHandler<D>,
): { stop(): Promise<void> } {
  const own = new InFlight();
  const fields = { bus: ctx.name, rpc: def.subject };

  const answer = async (msg: Msg): Promise<void> => {
    if (!msg.reply) {
      ctx.logger.warn({ ...fields }, "dropped a request without a reply subject");
      return;
    }
    let reply: unknown;
    const headers = headersToRecord(msg.headers);
    const deadline = performance.now() + callerWaitMs(headers, def);
    try {
      const req = parseWith(def.request, decodeJson(msg.data, `request to ${def.subject}`), `request to ${def.subject}`) as RpcRequest<D>;
      const result = await handler(req, { headers, remainingMs: () => deadline - performance.now() });
      const checked = def.response.safeParse(result);
      if (!checked.success) {
        ctx.logger.error({ ...fields, ...traceOf(headers), err: checked.error }, "handler returned a result that does not match its schema");
        reply = errorReply(new BusError("INTERNAL", INTERNAL_MESSAGE));
      } else {
        reply = { ok: true, result: checked.data };
      }
    } catch (err) {
      if (err instanceof BusError) {
        reply = errorReply(err);
      } else {
        ctx.logger.error({ ...fields, ...traceOf(headers), err }, "request handler failed");
        reply = errorReply(new BusError("INTERNAL", INTERNAL_MESSAGE));
      }
    }
    try {
      msg.respond(encodeJson(reply));
    } catch (err) {
      ctx.logger.warn({ ...fields, err }, "could not send a reply");
    }
  };

  let sub: Subscription;
  try {
    sub = ctx.nc.subscribe(def.subject, {
      queue: rpcQueueGroup(def),
      callback: (err, msg) => {
        if (err) {
          ctx.logger.error({ ...fields, err }, "request subscription failed");
          return;
        }
        void ctx.inFlight.track(own.track(answer(msg)));
      },
    });
  } catch (err) {
    throw asBusError(err, `serve ${def.subject}`);
  }

  const stop = ctx.closers.register(async () => {
    if (!sub.isClosed()) await sub.drain().catch(() => undefined);
    await own.idle();
  });
  return { stop };
}

/** Built once per endpoint: composing the schema per request cost more than parsing with it. */
const replySchemas = new WeakMap<RpcDef, ReturnType<typeof rpcReply>>();

function replySchema(def: RpcDef): ReturnType<typeof rpcReply> {
  let schema = replySchemas.get(def);
  if (!schema) {
    schema = rpcReply(def.response);
    replySchemas.set(def, schema);
  }
  return schema;
}

const TIMEOUT = new Set(["TimeoutError"]);
const NO_RESPONDERS = new Set(["NoRespondersError"]);
const REFUSED = new Set(["PublishRefusedError"]);

/**
 * Sends a request and returns the validated result. Connection trouble, no responders and
 * timeouts are UNAVAILABLE; an error reply becomes a RemoteError with the remote code.
 */
export async function requestRpc<D extends RpcDef>(
  ctx: BusContext,
  def: D,
  req: RpcRequest<D>,
  opts: RequestOptions = {},
): Promise<RpcResponse<D>> {
  const body = opts.validated ? req : parseWith(def.request, req, `request to ${def.subject}`);
  requireConnected(ctx, `request ${def.subject}`);
  const timeoutMs = opts.timeoutMs ?? def.timeoutMs;
  let msg: Msg;
  try {
    const headers = recordToHeaders({ ...opts.headers, [TIMEOUT_HEADER]: String(timeoutMs) });
    msg = await ctx.replies.request(def.subject, encodeJson(body), { timeoutMs, headers });
  } catch (err) {
    if (errorChainHas(err, NO_RESPONDERS)) {
      throw new BusError("UNAVAILABLE", `request ${def.subject}: no service is serving it`, { cause: err });
    }
    if (errorChainHas(err, REFUSED)) {
      throw new BusError("UNAVAILABLE", `request ${def.subject}: this service may not send it (${describeError(err)})`, { cause: err });
    }
    if (errorChainHas(err, TIMEOUT)) {
      throw new BusError("UNAVAILABLE", `request ${def.subject}: no reply within ${timeoutMs} ms`, { cause: err });
    }
    throw new BusError("UNAVAILABLE", `request ${def.subject}: connection problem (${describeError(err)})`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = decodeJson(msg.data, `reply from ${def.subject}`);
  } catch (err) {
    throw new BusError("INTERNAL", `request ${def.subject}: the reply is not JSON`, { cause: err });
  }
  const parsed = replySchema(def).safeParse(raw);
  if (!parsed.success) {
    throw new BusError("INTERNAL", `request ${def.subject}: the reply does not match the endpoint's schema`, {
      cause: parsed.error,
    });
  }
  const reply = parsed.data;
  if (!reply.ok) {
    const { code, message, issues, retry_after_seconds } = reply.error;
    throw new RemoteError(code, message, {
      ...(issues ? { issues } : {}),
      ...(retry_after_seconds !== undefined ? { retryAfterSeconds: retry_after_seconds } : {}),
    });
  }
  return reply.result as RpcResponse<D>;
}
