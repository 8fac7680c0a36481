import type { z } from "zod";

/**
 * Declarations of everything that crosses NATS. Producers and consumers import the same
 * definition, so a subject and its payload schema are written exactly once.
 */

/**
 * A JetStream stream, declared idempotently at start-up by its one owner (the service whose
 * role in nats-permissions.ts `declares` it); the services that consume from it wait for it.
 */
export interface StreamDef {
  readonly name: string;
  readonly subjects: readonly string[];
  /** `workqueue`: a message is gone once acked. `limits`: kept for every consumer until age/size limits. */
  readonly retention: "limits" | "workqueue";
  readonly storage: "file" | "memory";
  readonly maxAgeMs?: number;
  readonly maxBytes?: number;
  /** Window in which a repeated `Nats-Msg-Id` is dropped as a duplicate. */
  readonly duplicateWindowMs: number;
  readonly description: string;
}

/** An event: a subject (or subject family) carrying one payload schema on one stream. */
export interface EventDef<S extends z.ZodType = z.ZodType> {
  /** Subject, or wildcard pattern for families such as `job.log.*`. */
  readonly subject: string;
  readonly schema: S;
  readonly stream: StreamDef;
  /** Public events are documented for external consumers and only ever change additively. */
  readonly public: boolean;
  readonly schemaVersion: number;
  readonly description: string;
}

/** Events a consumer receives, by name: the keys of its handler map. */
export type ConsumerEvents = Readonly<Record<string, EventDef>>;

/**
 * A durable pull consumer; every option is set on purpose (the server defaults stall or redeliver).
 * `events` lists every event its filter lets through (a test keeps the two in step), so a
 * handler map typed from it covers each one, and adding an event to a stream shows at compile
 * time in every consumer that receives it.
 */
export interface ConsumerDef<E extends ConsumerEvents = ConsumerEvents> {
  readonly stream: StreamDef;
  readonly durable: string;
  readonly filterSubject?: string;
  /** The events this consumer's messages carry, each told apart by its subject. */
  readonly events: E;
  readonly ackWaitMs: number;
  /** -1 for unlimited. */
  readonly maxDeliver: number;
  readonly maxAckPending: number;
  readonly deliverPolicy: "all" | "new";
  readonly description: string;
}

/** A core NATS subject, not stored (heartbeats, cancels). */
export interface SignalDef<S extends z.ZodType = z.ZodType> {
  readonly subject: string;
  readonly schema: S;
  readonly description: string;
}

/** A request/reply endpoint served by a queue group. */
export interface RpcDef<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType> {
  readonly subject: string;
  readonly request: Req;
  readonly response: Res;
  /** Schema of a successful result; the bus wraps it as `{ ok: true, result }` or `{ ok: false, error }`. */
  /** How long a caller waits before giving up with `UNAVAILABLE`. */
  readonly timeoutMs: number;
  readonly description: string;
}

/** A JetStream key-value bucket. */
export interface KvDef<S extends z.ZodType = z.ZodType> {
  readonly bucket: string;
  readonly schema: S;
  readonly history: number;
  readonly storage: "file" | "memory";
  readonly ttlMs?: number;
  readonly description: string;
}

export type Payload<D extends { schema: z.ZodType }> = z.infer<D["schema"]>;
export type RpcRequest<D extends RpcDef> = z.infer<D["request"]>;
export type RpcResponse<D extends RpcDef> = z.infer<D["response"]>;
