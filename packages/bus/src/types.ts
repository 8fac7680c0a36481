/** The subset of a pino logger the bus writes to. */
export interface BusLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** How to reach NATS and how patiently. */
export interface BusOptions {
  /** Server URL(s), comma-separated, e.g. `nats://127.0.0.1:4222`. */
  servers: string;
  /** Connection name shown by the server's monitoring (`connz`), usually the service name. */
  name: string;
  /**
   * NATS user and password (both or neither). With a user, replies come to the user's own inbox
   * prefix (`natsInboxPrefix`), the only inbox its permissions let it subscribe to.
   */
  user?: string;
  pass?: string;
  /** Where connection changes and dropped messages are reported; default: stderr. */
  logger?: BusLogger;
  /** give up the *first* connect after this (default: never, keep retrying with backoff) */
  connectTimeoutMs?: number;
  /** Aborts the first connect (e.g. on SIGTERM during start-up); no effect once connected. */
  signal?: AbortSignal;
  /**
   * Replicas of every stream `ensureStream` declares on this connection (default 1). A NATS
   * cluster sets its size (at most 5); every service declaring a stream must use the same
   * number, or each start-up would change the stream back to its own.
   */
  streamReplicas?: number;
}

/**
 * `connected`: usable. `disconnected`: the link just dropped. `reconnecting`: trying servers
 * again (forever). `closed`: after `close()`; final.
 */
export type BusState = "connected" | "disconnected" | "reconnecting" | "closed";

/** A JetStream message handed to a consumer's handler. */
export interface ConsumedMessage<T> {
  /** The payload, already checked against the event's schema. */
  data: T;
  subject: string;
  headers: Record<string, string>;
  /** Stream sequence. */
  seq: number;
  /** 1 on first delivery, 2 on the first redelivery, … */
  deliveryCount: number;
  /** When the stream stored the message (its publish), by the server's clock. */
  storedAt: Date;
  /** Acknowledges and waits for the server to confirm it. */
  ack(): Promise<void>;
  /** Asks for redelivery, after `delayMs` when given. */
  nak(delayMs?: number): void;
  /** Never redeliver (a message that can never succeed). */
  term(): void;
  /** Restarts the ack-wait clock; call at least every ack_wait/3 during long work. */
  working(): void;
  /** True once ack, nak or term was called. */
  readonly settled: boolean;
}

/** A running pull loop started by `Bus.consume`. */
export interface Consumption {
  /** Stops pulling and resolves once the in-flight handler (if any) has finished. */
  stop(): Promise<void>;
  /**
   * Settles when the loop has exited. A pull already waiting at the server is not
   * cancelled, so this can be up to `pullTimeoutMs` after `stop()`; a message it still
   * brings is nak'ed at once so another consumer gets it.
   */
  readonly done: Promise<void>;
}

/** A key-value bucket whose values are checked against one schema on the way in and out. */
export interface TypedKv<T> {
  /** Stores the value and returns its revision. */
  put(key: string, value: T): Promise<number>;
  /** The current value, or null when the key is absent or deleted. */
  get(key: string): Promise<T | null>;
  delete(key: string): Promise<void>;
  /**
   * Calls `onValue` with the current value first (if any), then with every update; null when
   * the key is deleted. Values that fail the schema are logged and skipped.
   */
  watch(key: string, onValue: (value: T | null) => void): { stop(): Promise<void> };
  /**
   * Every key of the bucket: current values first, then updates (null for a deleted key).
   * `ready` settles once the current values have been delivered.
   */
  watchAll(onEntry: (key: string, value: T | null) => void): { ready: Promise<void>; stop(): Promise<void> };
}
