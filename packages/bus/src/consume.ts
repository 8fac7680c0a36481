import { nameForSubject, type ConsumerDef, type EventDef, type Payload } from "@asgard/contracts";
import type { Consumer, JsMsg } from "@nats-io/jetstream";
import { backoffDelayMs, sleep } from "@asgard/retry";
import { LOOP_BACKOFF, nakDelayMs } from "./backoff.js";
import { decodeJson, headersToRecord, parseWith } from "./codec.js";
import type { BusContext } from "./context.js";
import { asBusError, BusError } from "./errors.js";
import type { ConsumedMessage, Consumption } from "./types.js";

/** Options of a pull loop. */
export interface ConsumeOptions {
  /** Stops the loop when aborted, like `stop()`. */
  signal?: AbortSignal;
  /** How long one pull waits at the server for a message (min 1000, default 5000). */
  pullTimeoutMs?: number;
}

/** A shorter pull than nats.js's 30 s default lets a loop notice a stop or a lost pull sooner. */
const DEFAULT_PULL_TIMEOUT_MS = 5_000;
/** nats.js rejects pulls that expire sooner. */
const MIN_PULL_TIMEOUT_MS = 1_000;

export type MessageHandler<T> = (msg: ConsumedMessage<T>) => Promise<void>;

/**
 * One handler per event the consumer receives, typed from the catalog: adding an event to a
 * consumer's `events` makes every handler map of it incomplete until the event is handled.
 * `null`: this consumer does not act on the event; its messages are acked unread.
 */
export type ConsumerHandlers<C extends ConsumerDef> = {
  readonly [K in keyof C["events"]]: MessageHandler<Payload<C["events"][K]>> | null;
};

/** Wraps a JsMsg; remembers whether the handler settled it. */
class Delivery<T> implements ConsumedMessage<T> {
  #settled = false;
  #ack: Promise<void> | null = null;
  readonly subject: string;
  readonly headers: Record<string, string>;
  readonly seq: number;
  readonly deliveryCount: number;
  readonly storedAt: Date;

  constructor(
    private readonly msg: JsMsg,
    readonly data: T,
  ) {
    this.subject = msg.subject;
    this.headers = headersToRecord(msg.headers);
    this.seq = msg.seq;
    this.deliveryCount = msg.info.deliveryCount;
    this.storedAt = new Date(Math.floor(msg.info.timestampNanos / 1_000_000));
  }

  get settled(): boolean {
    return this.#settled;
  }

  ack(): Promise<void> {
    if (this.#ack) return this.#ack;
    if (this.#settled) return Promise.resolve();
    this.#settled = true;
    // ackAck waits for the server's confirmation, so close() really finishes acked work.
    this.#ack = this.msg.ackAck().then(
      () => undefined,
      (err: unknown) => {
        throw asBusError(err, `ack of ${this.subject} #${this.seq}`);
      },
    );
    // A handler that does not await its ack must not crash the process with an unhandled rejection.
    this.#ack.catch(() => undefined);
    return this.#ack;
  }

  nak(delayMs?: number): void {
    if (this.#settled) return;
    this.#settled = true;
    this.msg.nak(delayMs);
  }

  term(): void {
    if (this.#settled) return;
    this.#settled = true;
    // No reason text: servers before 2.10.4 ignore a `+TERM <reason>` entirely.
    this.msg.term();
  }

  working(): void {
    if (!this.#settled) this.msg.working();
  }

  /** The ack sent by the handler (or by us), if any. */
  get pendingAck(): Promise<void> | null {
    return this.#ack;
  }
}

/**
 * Starts a pull loop: one message at a time with `next()`, so the ack-wait of a message only
 * starts when its handler is about to run (a buffered `consume()` starts all of them at once).
 */
export function startConsumption<C extends ConsumerDef>(
  ctx: BusContext,
  consumerDef: C,
  handlers: ConsumerHandlers<C>,
  opts: ConsumeOptions = {},
): Consumption {
  const stream = consumerDef.stream.name;
  const durable = consumerDef.durable;
  const fields = { bus: ctx.name, stream, consumer: durable };
  const expires = Math.max(MIN_PULL_TIMEOUT_MS, opts.pullTimeoutMs ?? DEFAULT_PULL_TIMEOUT_MS);
  const stopper = new AbortController();
  const stopSignal = stopper.signal;
  let inFlight: Promise<void> = Promise.resolve();

  const stop = ctx.closers.register(() => {
    stopper.abort();
    return inFlight;
  });
  const onExternalAbort = () => void stop();
  opts.signal?.addEventListener("abort", onExternalAbort, { once: true });
  if (opts.signal?.aborted) void stop();

  const loop = async (): Promise<void> => {
    let consumer: Consumer | null = null;
    let failures = 0;
    while (!stopSignal.aborted && ctx.state.current !== "closed") {
      if (ctx.state.current !== "connected") {
        // A pull sent while disconnected is buffered and only answered at its expiry.
        await ctx.state.whenConnected(stopSignal);
        continue;
      }
      let msg: JsMsg | null;
      const pulledAt = Date.now();
      try {
        consumer ??= await ctx.js.consumers.get(stream, durable);
        msg = await consumer.next({ expires });
      } catch (err) {
        consumer = null;
        failures++;
        if (failures === 1) ctx.logger.warn({ ...fields, err }, "pulling from consumer failed; retrying");
        await sleep(backoffDelayMs(failures, LOOP_BACKOFF), stopSignal);
        continue;
      }
      if (failures > 0) {
        ctx.logger.info({ ...fields, failures }, "pulling from consumer works again");
        failures = 0;
      }
      if (!msg) {
        // An empty answer well before the pull's expiry is a server status, not an idle
        // stream; pausing keeps a persistent one from turning this into a busy loop.
        if (Date.now() - pulledAt < expires / 2) await sleep(backoffDelayMs(1, LOOP_BACKOFF), stopSignal);
        continue;
      }
      if (stopSignal.aborted) {
        // Arrived after stop(): hand it straight back for another consumer.
        msg.nak();
        break;
      }
      inFlight = dispatch(ctx, fields, msg, consumerDef, handlers);
      await inFlight;
    }
  };

  const done = loop()
    .catch((err: unknown) => ctx.logger.error({ ...fields, err }, "consumer loop crashed"))
    .finally(() => opts.signal?.removeEventListener("abort", onExternalAbort));

  return { done, stop };
}

/** Finds the message's event by its subject and hands it to that event's handler; never rejects. */
function dispatch<C extends ConsumerDef>(
  ctx: BusContext,
  fields: object,
  msg: JsMsg,
  consumerDef: C,
  handlers: ConsumerHandlers<C>,
): Promise<void> {
  const name = nameForSubject(consumerDef.events, msg.subject);
  if (name === null) {
    // Nothing this consumer knows is published there: no redelivery would change that.
    msg.term();
    ctx.logger.error(
      { ...fields, subject: msg.subject, seq: msg.seq, events: Object.keys(consumerDef.events) },
      "terminated a message on a subject none of the consumer's events uses",
    );
    return Promise.resolve();
  }
  const handler = handlers[name] as MessageHandler<unknown> | null;
  if (handler === null) {
    return new Delivery(msg, undefined)
      .ack()
      .catch((err: unknown) =>
        ctx.logger.warn({ ...fields, subject: msg.subject, seq: msg.seq, err }, "ack failed; the message will be redelivered after ack_wait"),
      );
  }
  return handleMessage(ctx, fields, msg, consumerDef.events[name] as EventDef, handler);
}

/** Decodes, validates and runs the handler; never rejects. */
async function handleMessage<D extends EventDef>(
  ctx: BusContext,
  fields: object,
  msg: JsMsg,
  def: D,
  handler: MessageHandler<Payload<D>>,
): Promise<void> {
  const where = { ...fields, subject: msg.subject, seq: msg.seq, deliveryCount: msg.info.deliveryCount };
  let data: Payload<D>;
  try {
    data = parseWith(def.schema, decodeJson(msg.data, `message on ${msg.subject}`), `message on ${msg.subject}`) as Payload<D>;
  } catch (err) {
    // It can never pass: redelivering would only repeat the failure.
    msg.term();
    const issues = err instanceof BusError ? err.issues : undefined;
    ctx.logger.error({ ...where, err, issues }, "terminated a message that does not match its schema");
    return;
  }
  const delivery = new Delivery<Payload<D>>(msg, data);
  try {
    await handler(delivery);
  } catch (err) {
    if (!delivery.settled) {
      const delayMs = nakDelayMs(delivery.deliveryCount);
      delivery.nak(delayMs);
      ctx.logger.warn({ ...where, err, delayMs }, "handler failed; message will be redelivered");
    } else {
      ctx.logger.error({ ...where, err }, "handler threw after settling its message");
    }
  }
  if (!delivery.settled) void delivery.ack();
  // Also covers an ack the handler did not await: close() must not outrun it.
  await delivery.pendingAck?.catch((err: unknown) =>
    ctx.logger.warn({ ...where, err }, "ack failed; the message will be redelivered after ack_wait"),
  );
}
