import type { ConcreteSubject, EventDef, Payload } from "@asgard/contracts";
import { encodeJson, parseWith, recordToHeaders } from "./codec.js";
import { requireConnected, type BusContext } from "./context.js";
import { asBusError, BusError, errorChainHas } from "./errors.js";
import { resolvePublishSubject } from "./subjects.js";

/** Options of one JetStream publish. */
export interface PublishOptions<S extends string = string> {
  /**
   * Concrete subject; required when the event's subject is a pattern (e.g. `job.log.*`), and
   * typed as one of its members: build it with `subjectOf` (or a catalog helper such as `jobLogSubject`).
   */
  subject?: ConcreteSubject<S>;
  /** Sent as `Nats-Msg-Id`: a repeat within the stream's duplicate window is dropped. */
  msgId?: string;
  headers?: Record<string, string>;
  /** How long to wait for the stream's ack (nats.js default otherwise). */
  timeoutMs?: number;
}

/** What the stream answered. `duplicate` is true when the msgId was seen within the window. */
export interface PublishAck {
  seq: number;
  duplicate: boolean;
  stream: string;
}

const NO_RESPONDERS = new Set(["NoRespondersError"]);

export async function publishEvent<D extends EventDef>(
  ctx: BusContext,
  def: D,
  payload: Payload<D>,
  opts: PublishOptions<D["subject"]> = {},
): Promise<PublishAck> {
  const data = parseWith(def.schema, payload, `payload of ${def.subject}`);
  const subject = resolvePublishSubject(def.subject, opts.subject);
  requireConnected(ctx, `publish on ${subject}`);
  try {
    const ack = await ctx.js.publish(subject, encodeJson(data), {
      msgID: opts.msgId,
      headers: recordToHeaders(opts.headers),
      timeout: opts.timeoutMs,
    });
    return { seq: ack.seq, duplicate: ack.duplicate, stream: ack.stream };
  } catch (err) {
    if (errorChainHas(err, NO_RESPONDERS)) {
      throw new BusError("UNAVAILABLE", `publish on ${subject}: no stream stores it (is ${def.stream.name} declared?)`, {
        cause: err,
      });
    }
    throw asBusError(err, `publish on ${subject}`);
  }
}
