import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BusError, type Bus } from "../src/index.js";
import { openBus, rawConnection, testConsumer, testEvent, testStream } from "./helpers.js";

describe("streams and consumers", () => {
  let bus: Bus;
  let raw: NatsConnection;
  let jsm: JetStreamManager;

  beforeAll(async () => {
    bus = await openBus();
    raw = await rawConnection();
    jsm = await jetstreamManager(raw);
  });
  afterAll(async () => {
    await bus?.close();
    await raw?.close();
  });

  it("creates a stream once and applies a changed max age on the next ensure", async () => {
    const def = testStream({ maxAgeMs: 60_000, maxBytes: 1024 * 1024, duplicateWindowMs: 30_000, storage: "file" });
    await bus.ensureStream(def);
    await bus.ensureStream(def);
    let info = await jsm.streams.info(def.name);
    expect(info.config).toMatchObject({
      subjects: def.subjects,
      retention: "limits",
      storage: "file",
      max_age: 60_000 * 1e6,
      max_bytes: 1024 * 1024,
      duplicate_window: 30_000 * 1e6,
      description: def.description,
    });

    await bus.ensureStream({ ...def, maxAgeMs: 120_000 });
    info = await jsm.streams.info(def.name);
    expect(info.config.max_age).toBe(120_000 * 1e6);
    await bus.deleteStream(def.name);
  });

  it("refuses to change the retention of an existing stream", async () => {
    const def = testStream();
    await bus.ensureStream(def);
    const err = await bus.ensureStream({ ...def, retention: "workqueue" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BusError);
    expect(err).toMatchObject({ code: "CONFLICT" });
    await bus.deleteStream(def.name);
  });

  it("creates a durable pull consumer with every option set, idempotently, and updates ack_wait", async () => {
    const stream = testStream();
    await bus.ensureStream(stream);
    const def = testConsumer(stream, {
      filterSubject: testEvent(stream).subject,
      ackWaitMs: 7_000,
      maxDeliver: 4,
      maxAckPending: 3,
      deliverPolicy: "new",
    });
    await bus.ensureConsumer(def);
    await bus.ensureConsumer(def);
    let info = await jsm.consumers.info(stream.name, def.durable);
    expect(info.config).toMatchObject({
      durable_name: def.durable,
      ack_policy: "explicit",
      ack_wait: 7_000 * 1e6,
      max_deliver: 4,
      max_ack_pending: 3,
      deliver_policy: "new",
      filter_subject: def.filterSubject,
    });
    expect(info.config.deliver_subject).toBeUndefined();

    await bus.ensureConsumer({ ...def, ackWaitMs: 9_000 });
    info = await jsm.consumers.info(stream.name, def.durable);
    expect(info.config.ack_wait).toBe(9_000 * 1e6);
    await bus.deleteStream(stream.name);
  });

  it("counts pending, ack-pending and redelivered messages", async () => {
    const stream = testStream();
    const event = testEvent(stream);
    const consumer = testConsumer(stream);
    await bus.ensureStream(stream);
    await bus.ensureConsumer(consumer);
    await bus.publish(event, { n: 1, label: "x" });
    expect(await bus.consumerPending(consumer)).toEqual({ pending: 1, ackPending: 0, redelivered: 0 });

    // Take the message without acking it (ack-pending), then nak it so it comes back (redelivered).
    const c = await jetstream(raw).consumers.get(stream.name, consumer.durable);
    const m = await c.next({ expires: 2_000 });
    expect(m).not.toBeNull();
    expect(await bus.consumerPending(consumer)).toEqual({ pending: 0, ackPending: 1, redelivered: 0 });
    m?.nak();
    const again = await c.next({ expires: 5_000 });
    expect(again?.seq).toBe(m?.seq);
    expect(again?.info.deliveryCount).toBe(2);

    for (let n = 2; n <= 3; n++) await bus.publish(event, { n, label: "x" });
    expect(await bus.consumerPending(consumer)).toEqual({ pending: 2, ackPending: 1, redelivered: 1 });
    await bus.deleteStream(stream.name);
  });

  it("reports a missing consumer as NOT_FOUND and deleting a missing stream as done", async () => {
    const stream = testStream();
    await expect(bus.consumerPending(testConsumer(stream))).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(bus.deleteStream(stream.name)).resolves.toBeUndefined();
  });

  it("waits for a stream another connection creates, and gives up when the bus closes", async () => {
    const def = testStream();
    const waiting = bus.awaitStream(def);
    let done = false;
    void waiting.then(() => (done = true));
    // The stream does not exist yet, so the wait cannot have ended.
    await bus.rtt();
    expect(done).toBe(false);
    const owner = await openBus();
    await owner.ensureStream(def);
    await expect(waiting).resolves.toBeUndefined();
    await expect(bus.awaitStream(def)).resolves.toBeUndefined();
    await owner.deleteStream(def.name);

    const closing = await openBus();
    const never = closing.awaitStream(testStream()).catch((err: unknown) => err);
    await closing.close();
    expect(await never).toMatchObject({ code: "UNAVAILABLE" });
    await owner.close();
  });
});
