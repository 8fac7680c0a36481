import { setTimeout as sleep } from "node:timers/promises";
import type { ConsumerDef, StreamDef } from "@asgard/contracts";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bus, ConsumedMessage } from "../src/index.js";
import { memoryLogger, openBus, rawConnection, signal, testConsumer, testEvent, testStream, waitFor, type Item } from "./helpers.js";

describe("consume", () => {
  let bus: Bus;
  let raw: NatsConnection;
  const logger = memoryLogger();
  const streams: StreamDef[] = [];

  beforeAll(async () => {
    bus = await openBus(undefined, logger);
    raw = await rawConnection();
  });
  afterAll(async () => {
    for (const s of streams) await bus?.deleteStream(s.name);
    await bus?.close();
    await raw?.close();
  });

  async function setup(streamOverrides: Partial<StreamDef> = {}, consumerOverrides: Partial<ConsumerDef> = {}) {
    const stream = testStream(streamOverrides);
    streams.push(stream);
    const event = testEvent(stream);
    const consumer = testConsumer(stream, consumerOverrides);
    await bus.ensureStream(stream);
    await bus.ensureConsumer(consumer);
    return { stream, event, consumer };
  }

  it("acks when the handler returns, which removes the message from a workqueue stream", async () => {
    const { stream, event, consumer } = await setup({ retention: "workqueue" });
    const got = signal<ConsumedMessage<Item>>();
    const consumption = bus.consume(consumer, event, async (msg) => got.resolve(msg));
    await bus.publish(event, { n: 7, label: "seven" }, { headers: { "x-trace": "t1" } });
    const msg = await got.promise;
    expect(msg.data).toEqual({ n: 7, label: "seven" });
    expect(msg.subject).toBe(event.subject);
    expect(msg.headers["x-trace"]).toBe("t1");
    expect(msg.deliveryCount).toBe(1);
    await consumption.stop();
    expect(msg.settled).toBe(true);
    const jsm = await jetstreamManager(raw);
    expect((await jsm.streams.info(stream.name)).state.messages).toBe(0);
    expect(await bus.consumerPending(consumer)).toEqual({ pending: 0, ackPending: 0, redelivered: 0 });
  });

  it("naks when the handler throws; the message comes back with deliveryCount 2", async () => {
    const { event, consumer } = await setup();
    const counts: number[] = [];
    const second = signal();
    const consumption = bus.consume(consumer, event, async (msg) => {
      counts.push(msg.deliveryCount);
      if (msg.deliveryCount === 1) throw new Error("transient");
      second.resolve();
    });
    await bus.publish(event, { n: 1, label: "x" });
    await second.promise;
    await consumption.stop();
    expect(counts).toEqual([1, 2]);
    expect(logger.messages("warn")).toContain("handler failed; message will be redelivered");
    expect(await bus.consumerPending(consumer)).toMatchObject({ pending: 0, ackPending: 0 });
  });

  it("does not redeliver a termed message", async () => {
    const { event, consumer } = await setup({}, { ackWaitMs: 1_000 });
    let calls = 0;
    const after = signal();
    const consumption = bus.consume(consumer, event, async (msg) => {
      calls++;
      if (msg.data.n === 1) msg.term();
      else after.resolve();
    });
    await bus.publish(event, { n: 1, label: "never" });
    await bus.publish(event, { n: 2, label: "later" });
    await after.promise;
    // Past two ack-wait periods: a message that was only left unacked would be back by now.
    await sleep(2_500);
    await consumption.stop();
    expect(calls).toBe(2);
    expect(await bus.consumerPending(consumer)).toEqual({ pending: 0, ackPending: 0, redelivered: 0 });
  });

  it("terms what is not JSON or does not match the schema, logs it, and goes on", async () => {
    const { event, consumer } = await setup({}, { ackWaitMs: 1_000 });
    const seen: number[] = [];
    const good = signal();
    const consumption = bus.consume(consumer, event, async (msg) => {
      seen.push(msg.data.n);
      good.resolve();
    });
    const js = jetstream(raw);
    await js.publish(event.subject, "{not json");
    await js.publish(event.subject, JSON.stringify({ n: "one" }));
    await bus.publish(event, { n: 3, label: "fine" });
    await good.promise;
    await sleep(2_500);
    await consumption.stop();
    expect(seen).toEqual([3]);
    const termed = logger.entries.filter((e) => e.msg === "terminated a message that does not match its schema");
    expect(termed.filter((e) => e.obj.consumer === consumer.durable)).toHaveLength(2);
    expect(await bus.consumerPending(consumer)).toEqual({ pending: 0, ackPending: 0, redelivered: 0 });
  });

  it("keeps a message past ack_wait without redelivery while the handler calls working()", async () => {
    const { event, consumer } = await setup({}, { ackWaitMs: 1_000 });
    let calls = 0;
    const finished = signal();
    const handler = async (msg: ConsumedMessage<Item>) => {
      calls++;
      for (let i = 0; i < 10; i++) {
        await sleep(250);
        msg.working();
      }
      finished.resolve();
    };
    // Two loops on the same durable: a redelivery would reach the idle one.
    const a = bus.consume(consumer, event, handler);
    const b = bus.consume(consumer, event, handler);
    await bus.publish(event, { n: 1, label: "long" });
    await finished.promise;
    await sleep(1_500);
    await Promise.all([a.stop(), b.stop()]);
    expect(calls).toBe(1);
    expect(await bus.consumerPending(consumer)).toEqual({ pending: 0, ackPending: 0, redelivered: 0 });
  });

  it("redelivers the same long work when the handler does not call working() (control)", async () => {
    const { event, consumer } = await setup({}, { ackWaitMs: 1_000 });
    const counts: number[] = [];
    const redelivered = signal();
    const handler = async (msg: ConsumedMessage<Item>) => {
      counts.push(msg.deliveryCount);
      if (msg.deliveryCount > 1) {
        redelivered.resolve();
        return;
      }
      await sleep(2_500);
    };
    const a = bus.consume(consumer, event, handler);
    const b = bus.consume(consumer, event, handler);
    await bus.publish(event, { n: 1, label: "long" });
    await redelivered.promise;
    await Promise.all([a.stop(), b.stop()]);
    expect(counts).toEqual([1, 2]);
  });

  it("stop() waits for the in-flight handler and then no more messages are taken", async () => {
    const { event, consumer } = await setup();
    const started = signal();
    let finished = false;
    let calls = 0;
    const consumption = bus.consume(consumer, event, async () => {
      calls++;
      started.resolve();
      await sleep(500);
      finished = true;
    });
    await bus.publish(event, { n: 1, label: "a" });
    await started.promise;
    await consumption.stop();
    expect(finished).toBe(true);
    await bus.publish(event, { n: 2, label: "b" });
    await consumption.done;
    expect(calls).toBe(1);
    await waitFor("the second message to be back at the consumer", async () => {
      const p = await bus.consumerPending(consumer);
      return p.pending + p.ackPending === 1;
    });
  });

  it("stops when its abort signal fires", async () => {
    const { event, consumer } = await setup();
    const controller = new AbortController();
    const consumption = bus.consume(consumer, event, async () => undefined, { signal: controller.signal, pullTimeoutMs: 1_000 });
    controller.abort();
    await consumption.done;
    await bus.publish(event, { n: 1, label: "a" });
    expect(await bus.consumerPending(consumer)).toMatchObject({ pending: 1 });
  });
});
