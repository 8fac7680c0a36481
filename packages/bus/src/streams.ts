import type { ConsumerDef, StreamDef } from "@asgard/contracts";
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  ReplayPolicy,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type ConsumerInfo,
  type StreamConfig,
  type StreamInfo,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/nats-core";
import { backoffDelayMs, sleep } from "@asgard/retry";
import { AWAIT_STREAM_BACKOFF } from "./backoff.js";
import type { BusContext } from "./context.js";
import { asBusError, BusError, describeError } from "./errors.js";

/** The parts of a stream's config the bus owns; everything else keeps the server default. */
export type ManagedStreamConfig = Pick<
  StreamConfig,
  "name" | "subjects" | "retention" | "storage" | "max_age" | "max_bytes" | "duplicate_window" | "description" | "discard" | "num_replicas"
>;

/** The parts of a consumer's config the bus owns. */
export type ManagedConsumerConfig = Pick<
  ConsumerConfig,
  "durable_name" | "ack_policy" | "ack_wait" | "max_deliver" | "max_ack_pending" | "deliver_policy" | "replay_policy" | "description"
> & { filter_subject?: string };

/**
 * Maps a StreamDef (milliseconds) to JetStream config (nanoseconds; 0 / -1 mean unlimited).
 * The replica count belongs to the deployment (one server or a cluster), not to the definition.
 */
export function streamConfig(def: StreamDef, replicas = 1): ManagedStreamConfig {
  return {
    name: def.name,
    subjects: [...def.subjects],
    retention: def.retention === "workqueue" ? RetentionPolicy.Workqueue : RetentionPolicy.Limits,
    storage: def.storage === "memory" ? StorageType.Memory : StorageType.File,
    max_age: nanos(def.maxAgeMs ?? 0),
    max_bytes: def.maxBytes ?? -1,
    duplicate_window: nanos(def.duplicateWindowMs),
    description: def.description,
    discard: DiscardPolicy.Old,
    num_replicas: replicas,
  };
}

/** Maps a ConsumerDef to a durable pull consumer with explicit acks and every limit set. */
export function consumerConfig(def: ConsumerDef): ManagedConsumerConfig {
  const cfg: ManagedConsumerConfig = {
    durable_name: def.durable,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(def.ackWaitMs),
    max_deliver: def.maxDeliver,
    max_ack_pending: def.maxAckPending,
    deliver_policy: def.deliverPolicy === "new" ? DeliverPolicy.New : DeliverPolicy.All,
    replay_policy: ReplayPolicy.Instant,
    description: def.description,
  };
  if (def.filterSubject !== undefined) cfg.filter_subject = def.filterSubject;
  return cfg;
}

/** Names of the fields whose wanted value differs from the actual one. */
export function changedFields<T extends object>(wanted: T, actual: Partial<T>): Array<keyof T & string> {
  return (Object.keys(wanted) as Array<keyof T & string>).filter(
    (key) => JSON.stringify(normalize(wanted[key])) !== JSON.stringify(normalize(actual[key])),
  );
}

function normalize(v: unknown): unknown {
  // The server omits empty descriptions and filter subjects.
  if (v === undefined || v === "") return null;
  return v;
}

function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

async function streamInfoOrNull(ctx: BusContext, name: string): Promise<StreamInfo | null> {
  try {
    return await ctx.jsm.streams.info(name);
  } catch (err) {
    if (isApiError(err, JetStreamApiCodes.StreamNotFound)) return null;
    throw err;
  }
}

async function consumerInfoOrNull(ctx: BusContext, stream: string, durable: string): Promise<ConsumerInfo | null> {
  try {
    return await ctx.jsm.consumers.info(stream, durable);
  } catch (err) {
    if (isApiError(err, JetStreamApiCodes.ConsumerNotFound)) return null;
    throw err;
  }
}

/** Creates the stream, or brings an existing one to the definition. */
export async function ensureStream(ctx: BusContext, def: StreamDef): Promise<void> {
  const wanted = streamConfig(def, ctx.streamReplicas);
  try {
    let info = await streamInfoOrNull(ctx, def.name);
    if (!info) {
      try {
        await ctx.jsm.streams.add(wanted);
        ctx.logger.info({ stream: def.name }, "created stream");
        return;
      } catch (err) {
        // Another replica may have created it between our info and add.
        info = await streamInfoOrNull(ctx, def.name);
        if (!info) throw err;
      }
    }
    const changed = changedFields(wanted, info.config);
    if (changed.length === 0) return;
    // The server refuses to change these in place; say so instead of relaying its terse error.
    for (const fixed of ["retention", "storage"] as const) {
      if (changed.includes(fixed)) {
        throw new BusError(
          "CONFLICT",
          `stream ${def.name} exists with ${fixed} ${info.config[fixed]}, declared ${wanted[fixed]}; it cannot be changed in place`,
        );
      }
    }
    const { name: _name, retention: _r, storage: _s, ...mutable } = wanted;
    await ctx.jsm.streams.update(def.name, mutable);
    ctx.logger.info({ stream: def.name, changed }, "updated stream");
  } catch (err) {
    throw asBusError(err, `ensure stream ${def.name}`);
  }
}

/**
 * Waits until the stream exists, for a user that consumes from a stream another service owns
 * (and alone may create). A stream that is missing, or a JetStream that does not answer yet,
 * is retried with backoff; any other refusal (a permission) is thrown. Ends when the bus closes.
 */
export async function awaitStream(ctx: BusContext, def: StreamDef): Promise<void> {
  const stop = new AbortController();
  const unregister = ctx.closers.register(async () => stop.abort());
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        if (await streamInfoOrNull(ctx, def.name)) return;
        if (attempt === 1) ctx.logger.info({ stream: def.name }, "waiting for the stream's owner to create it");
      } catch (err) {
        if (stop.signal.aborted) break;
        const busError = asBusError(err, `stream info ${def.name}`);
        if (busError.code !== "UNAVAILABLE") throw busError;
        if (attempt === 1) ctx.logger.warn({ stream: def.name, err: busError }, "stream info failed; retrying");
      }
      await sleep(backoffDelayMs(attempt, AWAIT_STREAM_BACKOFF), stop.signal);
      if (stop.signal.aborted) break;
    }
  } finally {
    void unregister();
  }
  throw new BusError("UNAVAILABLE", `waiting for stream ${def.name}: the bus closed`);
}

/** Creates the durable pull consumer, or brings an existing one to the definition. */
export async function ensureConsumer(ctx: BusContext, def: ConsumerDef): Promise<void> {
  const stream = def.stream.name;
  const wanted = consumerConfig(def);
  try {
    let info = await consumerInfoOrNull(ctx, stream, def.durable);
    if (!info) {
      try {
        await ctx.jsm.consumers.add(stream, wanted);
        ctx.logger.info({ stream, consumer: def.durable }, "created consumer");
        return;
      } catch (err) {
        info = await consumerInfoOrNull(ctx, stream, def.durable);
        if (!info) throw err;
      }
    }
    const changed: string[] = changedFields(wanted, info.config);
    const actualFilter = info.config.filter_subject ?? "";
    if (def.filterSubject === undefined && actualFilter !== "") {
      // An empty filter cannot be sent as an update (nats.js would put it in the API subject).
      throw new BusError(
        "CONFLICT",
        `consumer ${def.durable} on ${stream} exists with filter ${actualFilter}, declared none; delete the consumer first`,
      );
    }
    if (changed.length === 0) return;
    if (changed.includes("deliver_policy") || changed.includes("ack_policy")) {
      throw new BusError(
        "CONFLICT",
        `consumer ${def.durable} on ${stream} exists with deliver_policy ${info.config.deliver_policy}, ack_policy ${info.config.ack_policy}; these cannot be changed in place (delete the consumer first)`,
      );
    }
    const { durable_name: _d, deliver_policy: _dp, ack_policy: _ap, replay_policy: _rp, ...mutable } = wanted;
    try {
      await ctx.jsm.consumers.update(stream, def.durable, mutable);
    } catch (err) {
      throw new BusError("CONFLICT", `consumer ${def.durable} on ${stream} cannot be updated (${changed.join(", ")}): ${describeError(err)}`, {
        cause: err,
      });
    }
    ctx.logger.info({ stream, consumer: def.durable, changed }, "updated consumer");
  } catch (err) {
    throw asBusError(err, `ensure consumer ${def.durable} on ${stream}`);
  }
}

/** Counters of a durable consumer, read from its info. */
export async function consumerPending(
  ctx: BusContext,
  def: ConsumerDef,
): Promise<{ pending: number; ackPending: number; redelivered: number }> {
  try {
    const info = await ctx.jsm.consumers.info(def.stream.name, def.durable);
    return { pending: info.num_pending, ackPending: info.num_ack_pending, redelivered: info.num_redelivered };
  } catch (err) {
    if (isApiError(err, JetStreamApiCodes.ConsumerNotFound) || isApiError(err, JetStreamApiCodes.StreamNotFound)) {
      throw new BusError("NOT_FOUND", `consumer ${def.durable} on stream ${def.stream.name} does not exist`, { cause: err });
    }
    throw asBusError(err, `consumer info ${def.durable} on ${def.stream.name}`);
  }
}

/** Deletes a stream; a stream that does not exist counts as deleted. */
export async function deleteStream(ctx: BusContext, name: string): Promise<void> {
  try {
    await ctx.jsm.streams.delete(name);
  } catch (err) {
    if (isApiError(err, JetStreamApiCodes.StreamNotFound)) return;
    throw asBusError(err, `delete stream ${name}`);
  }
}
