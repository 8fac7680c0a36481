import type { ConsumerDef, EventDef, KvDef, Payload, RpcDef, RpcRequest, RpcResponse, SignalDef, StreamDef } from "@asgard/contracts";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { startConsumption, type ConsumeOptions, type ConsumerHandlers } from "./consume.js";
import { Closers, InFlight, requireConnected, type BusContext } from "./context.js";
import { asBusError } from "./errors.js";
import { openKv, type OpenKvOptions } from "./kv.js";
import { publishEvent, type PublishAck, type PublishOptions } from "./publish.js";
import { requestRpc, serveRpc, type RequestOptions, type RpcHandler } from "./rpc.js";
import { ReplyInbox } from "./reply-inbox.js";
import { publishSignal, subscribeSignal, type SignalPublishOptions, type SignalSubscribeOptions } from "./signals.js";
import { ConnectionState } from "./state.js";
import * as streams from "./streams.js";
import type { BusLogger, BusState, Consumption, TypedKv } from "./types.js";

/** Timeout of JetStream API calls (stream/consumer management, KV). */
const JS_API_TIMEOUT_MS = 5_000;

/** A typed handle on NATS: every subject, payload and option comes from a contracts definition. */
export interface Bus {
  readonly name: string;
  isConnected(): boolean;
  state(): BusState;
  /** Calls `listener` on every state change; returns the unsubscribe function. */
  onState(listener: (s: BusState) => void): () => void;
  /** round-trip time to the server in ms (throws BusError UNAVAILABLE when not connected) */
  rtt(): Promise<number>;
  /**
   * Creates the stream, or updates it to the definition when it exists (idempotent), with
   * the bus's `streamReplicas`.
   */
  ensureStream(def: StreamDef): Promise<void>;
  /**
   * Waits until the stream exists: for a stream this user consumes but another service owns
   * (the catalog's roles name one owner per stream, the only user that may create it).
   */
  awaitStream(def: StreamDef): Promise<void>;
  /** Creates or updates a durable pull consumer with explicit acks and every limit set (idempotent). */
  ensureConsumer(def: ConsumerDef): Promise<void>;
  /**
   * Validates the payload (VALIDATION_FAILED naming the fields) and publishes it to JetStream.
   * `msgId` becomes `Nats-Msg-Id`; a repeat within the duplicate window answers `duplicate: true`.
   */
  publish<D extends EventDef>(def: D, payload: Payload<D>, opts?: PublishOptions<D["subject"]>): Promise<PublishAck>;
  /**
   * Pulls one message at a time and hands it to the handler of its event (found by subject
   * among `consumer.events`), which may ack, nak or term it. Unsettled after the handler
   * returns: ack. Handler throws: nak with a delay growing with the delivery count. Not JSON,
   * not matching the event's schema, or on a subject of none of the events: term, logged.
   * A `null` handler: acked unread.
   */
  consume<C extends ConsumerDef>(consumer: C, handlers: ConsumerHandlers<C>, opts?: ConsumeOptions): Consumption;
  /**
   * Creates or opens the bucket and returns a view checked against its schema; with
   * `create: false` (a bucket another service owns) only binds to it.
   */
  kv<D extends KvDef>(def: D, opts?: OpenKvOptions): Promise<TypedKv<Payload<D>>>;
  /** Serves a request/reply endpoint in its queue group. */
  serve<D extends RpcDef>(def: D, handler: RpcHandler<D>): { stop(): Promise<void> };
  /** Calls an endpoint; UNAVAILABLE when nobody answers in time, RemoteError for an error reply. */
  request<D extends RpcDef>(def: D, req: RpcRequest<D>, opts?: RequestOptions): Promise<RpcResponse<D>>;
  /** Publishes a validated signal on core NATS (not stored). */
  publishSignal<D extends SignalDef>(def: D, payload: Payload<D>, opts?: SignalPublishOptions<D["subject"]>): void;
  /** Subscribes to a signal; invalid payloads are logged and dropped. */
  subscribeSignal<D extends SignalDef>(
    def: D,
    handler: (payload: Payload<D>, subject: string) => void,
    opts?: SignalSubscribeOptions,
  ): { stop(): Promise<void> };
  /**
   * Live view of an event's subject on core NATS: `handler` sees each message published there
   * while subscribed (a JetStream publish reaches core subscribers too), with no durable state,
   * no acks and no replay — for wake-ups, never for work that must not be missed. Invalid
   * payloads are logged and dropped.
   */
  watchEvent<D extends EventDef>(
    def: D,
    handler: (payload: Payload<D>, subject: string) => void,
    opts?: SignalSubscribeOptions,
  ): { stop(): Promise<void> };
  /** `num_pending`, `num_ack_pending` and `num_redelivered` of a durable consumer. */
  consumerPending(def: ConsumerDef): Promise<{ pending: number; ackPending: number; redelivered: number }>;
  /** Deletes a stream (tests and tools); a missing stream is not an error. */
  deleteStream(name: string): Promise<void>;
  /** drain: finish in-flight handlers, flush, close. Idempotent. */
  close(): Promise<void>;
}

/** Builds the bus on an open connection. */
export async function createBus(
  nc: NatsConnection,
  name: string,
  logger: BusLogger,
  opts: { streamReplicas?: number; inboxPrefix?: string } = {},
): Promise<Bus> {
  const streamReplicas = opts.streamReplicas ?? 1;
  const state = new ConnectionState(nc, logger, name);
  const ctx: BusContext = {
    name,
    nc,
    js: jetstream(nc, { timeout: JS_API_TIMEOUT_MS }),
    // checkAPI off: it would cost a round trip now and fail the whole start-up while JetStream warms up.
    jsm: await jetstreamManager(nc, { timeout: JS_API_TIMEOUT_MS, checkAPI: false }),
    logger,
    state,
    streamReplicas,
    inFlight: new InFlight(),
    closers: new Closers(),
    replies: new ReplyInbox(nc, opts.inboxPrefix),
  };
  let closing: Promise<void> | null = null;

  const close = async (): Promise<void> => {
    await ctx.closers.stopAll();
    await ctx.inFlight.idle();
    if (nc.isClosed()) return;
    try {
      // Draining needs the server; with the link down, close is all that is left.
      if (state.current === "connected") await nc.drain();
      else await nc.close();
    } catch (err) {
      logger.warn({ bus: name, err }, "NATS drain failed; closing");
      await nc.close().catch(() => undefined);
    }
  };

  return {
    name,
    isConnected: () => state.current === "connected",
    state: () => state.current,
    onState: (listener) => state.onChange(listener),
    async rtt() {
      requireConnected(ctx, "rtt");
      try {
        return await nc.rtt();
      } catch (err) {
        throw asBusError(err, "rtt");
      }
    },
    ensureStream: (def) => streams.ensureStream(ctx, def),
    awaitStream: (def) => streams.awaitStream(ctx, def),
    ensureConsumer: (def) => streams.ensureConsumer(ctx, def),
    publish: (def, payload, opts) => publishEvent(ctx, def, payload, opts),
    consume: (consumer, handlers, opts) => startConsumption(ctx, consumer, handlers, opts),
    kv: (def, opts) => openKv(ctx, def, opts),
    serve: (def, handler) => serveRpc(ctx, def, handler),
    request: (def, req, opts) => requestRpc(ctx, def, req, opts),
    publishSignal: (def, payload, opts) => publishSignal(ctx, def, payload, opts),
    subscribeSignal: (def, handler, opts) => subscribeSignal(ctx, def, handler, opts),
    watchEvent: (def, handler, opts) => subscribeSignal(ctx, def, handler, opts),
    consumerPending: (def) => streams.consumerPending(ctx, def),
    deleteStream: (streamName) => streams.deleteStream(ctx, streamName),
    close() {
      closing ??= close();
      return closing;
    },
  };
}
