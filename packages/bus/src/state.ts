import type { NatsConnection } from "@nats-io/nats-core";
import type { BusLogger, BusState } from "./types.js";

/**
 * Follows the connection's status events and reduces them to BusState. nats.js reports
 * `reconnecting` once per attempt; only changes reach listeners and the log.
 */
export class ConnectionState {
  #state: BusState = "connected";
  readonly #listeners = new Set<(s: BusState) => void>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly logger: BusLogger,
    private readonly name: string,
  ) {
    void this.#follow();
    void nc.closed().then(() => this.#set("closed"));
  }

  get current(): BusState {
    return this.#state;
  }

  onChange(listener: (s: BusState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves once connected, closed, or `signal` aborts. */
  whenConnected(signal: AbortSignal): Promise<void> {
    if (this.#state === "connected" || this.#state === "closed" || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = () => {
        off();
        signal.removeEventListener("abort", finish);
        resolve();
      };
      const off = this.onChange((s) => {
        if (s === "connected" || s === "closed") finish();
      });
      signal.addEventListener("abort", finish, { once: true });
    });
  }

  async #follow(): Promise<void> {
    for await (const s of this.nc.status()) {
      switch (s.type) {
        case "disconnect":
          this.#set("disconnected", { server: s.server });
          break;
        case "reconnecting":
          this.#set("reconnecting");
          break;
        case "reconnect":
          this.#set("connected", { server: s.server });
          break;
        case "close":
          this.#set("closed");
          break;
        case "error":
          this.logger.warn({ bus: this.name, err: s.error }, "NATS reported an error");
          break;
        case "slowConsumer":
          this.logger.warn({ bus: this.name, subject: s.sub.getSubject(), pending: s.pending }, "NATS slow consumer");
          break;
        default:
          break;
      }
    }
  }

  #set(next: BusState, extra: object = {}): void {
    if (next === this.#state || this.#state === "closed") return;
    this.#state = next;
    const fields = { bus: this.name, state: next, ...extra };
    if (next === "connected") this.logger.info(fields, "NATS connection restored");
    else if (next === "closed") this.logger.info(fields, "NATS connection closed");
    else this.logger.warn(fields, next === "disconnected" ? "NATS connection lost" : "reconnecting to NATS");
    for (const listener of this.#listeners) {
      try {
        listener(next);
      } catch (err) {
        this.logger.error({ bus: this.name, err }, "a bus state listener threw");
      }
    }
  }
}
