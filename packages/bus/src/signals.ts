import type { ConcreteSubject, Payload, SignalDef } from "@asgard/contracts";
import type { Subscription } from "@nats-io/nats-core";
import { decodeJson, encodeJson, parseWith, recordToHeaders } from "./codec.js";
import type { BusContext } from "./context.js";
import { asBusError } from "./errors.js";
import { resolvePublishSubject, resolveSubscribeSubject } from "./subjects.js";

/** Options of a signal publish. */
export interface SignalPublishOptions<S extends string = string> {
  /** Concrete subject; required when the signal's subject is a pattern, and typed as one of its members. */
  subject?: ConcreteSubject<S>;
  headers?: Record<string, string>;
}

/** Options of a signal subscription. */
export interface SignalSubscribeOptions {
  /** A narrower subject or pattern inside the declared one. */
  subject?: string;
  /** Queue group: each signal goes to one member only. */
  queue?: string;
}

/**
 * Fire-and-forget on core NATS: nothing is stored, and while disconnected nats.js buffers
 * the message until it reconnects.
 */
export function publishSignal<D extends SignalDef>(
  ctx: BusContext,
  def: D,
  payload: Payload<D>,
  opts: SignalPublishOptions<D["subject"]> = {},
): void {
  const data = parseWith(def.schema, payload, `payload of ${def.subject}`);
  const subject = resolvePublishSubject(def.subject, opts.subject);
  try {
    ctx.nc.publish(subject, encodeJson(data), { headers: recordToHeaders(opts.headers) });
  } catch (err) {
    throw asBusError(err, `publish signal on ${subject}`);
  }
}

/** Subscribes to a signal; payloads that are not JSON or fail the schema are logged and dropped. */
export function subscribeSignal<D extends SignalDef>(
  ctx: BusContext,
  def: D,
  handler: (payload: Payload<D>, subject: string) => void,
  opts: SignalSubscribeOptions = {},
): { stop(): Promise<void> } {
  const subject = resolveSubscribeSubject(def.subject, opts.subject);
  const fields = { bus: ctx.name, signal: def.subject };
  let sub: Subscription;
  try {
    sub = ctx.nc.subscribe(subject, {
      queue: opts.queue,
      callback: (err, msg) => {
        if (err) {
          ctx.logger.error({ ...fields, err }, "signal subscription failed");
          return;
        }
        let payload: Payload<D>;
        try {
          payload = parseWith(def.schema, decodeJson(msg.data, `signal on ${msg.subject}`), `signal on ${msg.subject}`) as Payload<D>;
        } catch (err) {
          ctx.logger.warn({ ...fields, subject: msg.subject, err }, "dropped an invalid signal");
          return;
        }
        try {
          // A handler typed as sync may still return a promise; its rejection must not go unhandled.
          const result: unknown = handler(payload, msg.subject);
          if (result instanceof Promise) {
            void ctx.inFlight.track(
              result.catch((e: unknown) => ctx.logger.error({ ...fields, subject: msg.subject, err: e }, "signal handler failed")),
            );
          }
        } catch (e) {
          ctx.logger.error({ ...fields, subject: msg.subject, err: e }, "signal handler failed");
        }
      },
    });
  } catch (err) {
    throw asBusError(err, `subscribe to ${subject}`);
  }
  const stop = ctx.closers.register(async () => {
    if (!sub.isClosed()) await sub.drain().catch(() => undefined);
  });
  return { stop };
}
