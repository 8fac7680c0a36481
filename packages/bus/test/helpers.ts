import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { ConsumerDef, EventDef, StreamDef } from "@asgard/contracts";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { inject } from "vitest";
import { z } from "zod";
import { connectBus, type Bus, type BusLogger } from "../src/index.js";

/** A short random id usable in stream, consumer, bucket and subject names. */
export function uid(): string {
  return randomBytes(5).toString("hex");
}

export const natsUrl = (): string => inject("infra").natsUrl;

export function testStream(overrides: Partial<StreamDef> = {}): StreamDef {
  const id = uid();
  return {
    name: `T_${id}`,
    subjects: [`t${id}.>`],
    retention: "limits",
    storage: "memory",
    duplicateWindowMs: 60_000,
    description: "bus test stream",
    ...overrides,
  };
}

/** A consumer of the stream whose one event is `testEvent(stream)`, named `item`. */
export function testConsumer(stream: StreamDef, overrides: Partial<Omit<ConsumerDef, "events">> = {}): ConsumerDef<{ item: TestEvent }> {
  return {
    stream,
    durable: `c_${uid()}`,
    events: { item: testEvent(stream) },
    ackWaitMs: 5_000,
    maxDeliver: -1,
    maxAckPending: 10,
    deliverPolicy: "all",
    description: "bus test consumer",
    ...overrides,
  };
}

export const ItemSchema = z.object({
  n: z.number().int(),
  label: z.string().min(1),
});
export type Item = z.infer<typeof ItemSchema>;

export type TestEvent = EventDef<typeof ItemSchema>;

/** An event on the first subject family of `stream` (`t<id>.<leaf>`). */
export function testEvent(stream: StreamDef, leaf = "item"): TestEvent {
  const prefix = stream.subjects[0]?.replace(/\.>$/, "") ?? "";
  return { subject: `${prefix}.${leaf}`, schema: ItemSchema, stream, public: false, schemaVersion: 1, description: "test item" };
}

export interface LogEntry {
  level: "info" | "warn" | "error";
  obj: Record<string, unknown>;
  msg: string | undefined;
}

/** A logger that keeps what it is told, for assertions on what the bus reports. */
export function memoryLogger(): BusLogger & { entries: LogEntry[]; messages(level?: LogEntry["level"]): string[] } {
  const entries: LogEntry[] = [];
  const at = (level: LogEntry["level"]) => (obj: object, msg?: string) => {
    entries.push({ level, obj: obj as Record<string, unknown>, msg });
  };
  return {
    entries,
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    messages: (level) => entries.filter((e) => level === undefined || e.level === level).map((e) => e.msg ?? ""),
  };
}

export function openBus(name = `bus-test-${uid()}`, logger: BusLogger = memoryLogger(), servers = natsUrl()): Promise<Bus> {
  return connectBus({ servers, name, logger, connectTimeoutMs: 10_000 });
}

/** A plain nats.js connection, for looking behind the bus (stream state, raw bytes). */
export function rawConnection(servers = natsUrl()): Promise<NatsConnection> {
  return connect({ servers });
}

/** Polls until `check` returns true; fails with `what` after `timeoutMs` (a deadline, not a measurement). */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A promise with its resolve function, for handlers that signal a test. */
export function signal<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
