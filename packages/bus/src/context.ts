import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { BusError } from "./errors.js";
import type { ReplyInbox } from "./reply-inbox.js";
import type { ConnectionState } from "./state.js";
import type { BusLogger } from "./types.js";

/** What the parts of the bus share: one connection, its JetStream handles, the logger, the state. */
export interface BusContext {
  readonly name: string;
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly logger: BusLogger;
  readonly state: ConnectionState;
  /** `num_replicas` of the streams this bus declares. */
  readonly streamReplicas: number;
  /** Handler work that close() waits for. */
  readonly inFlight: InFlight;
  /** Stop functions of everything running on this connection (loops, subscriptions, watchers). */
  readonly closers: Closers;
  /** The connection's one reply subscription, shared by every request. */
  readonly replies: ReplyInbox;
}

/**
 * Fails fast with UNAVAILABLE when the link is down, instead of letting nats.js buffer the
 * call and report a timeout much later; callers (outbox, gateway) retry on their own terms.
 */
export function requireConnected(ctx: BusContext, what: string): void {
  const s = ctx.state.current;
  if (s !== "connected") throw new BusError("UNAVAILABLE", `${what}: not connected to NATS (${s})`);
}

/**
 * Keeps count of running async work (handlers) so close/stop can wait for it.
 */
export class InFlight {
  readonly #running = new Set<Promise<unknown>>();

  /** Registers work; the returned promise is the same work, still rejecting when it does. */
  track<T>(work: Promise<T>): Promise<T> {
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.#running.add(settled);
    void settled.then(() => this.#running.delete(settled));
    return work;
  }

  get size(): number {
    return this.#running.size;
  }

  /** Resolves when everything registered so far (and anything added meanwhile) has settled. */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }
}

/** Stop functions of running loops and subscriptions; close() calls them all before draining. */
export class Closers {
  readonly #stops = new Set<() => Promise<void>>();

  /** Registers a stop function; the returned function wraps it and unregisters on first call. */
  register(stop: () => Promise<void>): () => Promise<void> {
    let once: Promise<void> | null = null;
    const wrapped = () => {
      once ??= (this.#stops.delete(wrapped), stop());
      return once;
    };
    this.#stops.add(wrapped);
    return wrapped;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.#stops].map((stop) => stop()));
  }
}
