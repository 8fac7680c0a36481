import { setTimeout as sleep } from "node:timers/promises";
import type { ConsumerDef, EventDef, StreamDef } from "@asgard/contracts";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
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
    const consumption = bus.consume(consumer, { item: async (msg) => got.resolve(msg) });
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
    const consumption = bus.consume(consumer, {
      item: async (msg) => {
        counts.push(msg.deliveryCount);
        if (msg.deliveryCount === 1) throw new Error("transient");
        second.resolve();
      },
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
    const consumption = bus.consume(consumer, {
      item: async (msg) => {
        calls++;
        if (msg.data.n === 1) msg.term();
        else after.resolve();
      },
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
    const consumption = bus.consume(consumer, {
      item: async (msg) => {
        seen.push(msg.data.n);
        good.resolve();
      },
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
    const a = bus.consume(consumer, { item: handler });
    const b = bus.consume(consumer, { item: handler });
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
    const a = bus.consume(consumer, { item: handler });
    const b = bus.consume(consumer, { item: handler });
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
    const consumption = bus.consume(consumer, {
      item: async () => {
        calls++;
        started.resolve();
        await sleep(500);
        finished = true;
      },
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
    const consumption = bus.consume(consumer, { item: async () => undefined }, { signal: controller.signal, pullTimeoutMs: 1_000 });
    controller.abort();
    await consumption.done;
    await bus.publish(event, { n: 1, label: "a" });
    expect(await bus.consumerPending(consumer)).toMatchObject({ pending: 1 });
  });
});

describe("consume: a consumer of several events", () => {
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

  const WordSchema = z.object({ word: z.string().min(1) });

  /** One stream, two events on it (an item and a word family), one consumer of the whole stream. */
  async function setup() {
    const stream = testStream();
    streams.push(stream);
    const item = testEvent(stream);
    const prefix = item.subject.replace(/\.item$/, "");
    const word: EventDef<typeof WordSchema> = { ...item, subject: `${prefix}.word.*`, schema: WordSchema, description: "test word" };
    const consumer = { ...testConsumer(stream, { ackWaitMs: 1_000 }), events: { item, word } };
    await bus.ensureStream(stream);
    await bus.ensureConsumer(consumer);
    return { prefix, item, word, consumer };
  }

  it("hands each message to the handler of its event, checked against that event's schema", async () => {
    const { prefix, item, word, consumer } = await setup();
    const seen: string[] = [];
    const consumption = bus.consume(consumer, {
      item: async (msg) => void seen.push(`item ${msg.data.n}`),
      word: async (msg) => void seen.push(`word ${msg.data.word} on ${msg.subject}`),
    });
    await bus.publish(item, { n: 1, label: "one" });
    await bus.publish(word, { word: "hello" }, { subject: `${prefix}.word.w1` });
    // An item's payload on a word subject fails the word schema: termed, never handed over.
    await jetstream(raw).publish(`${prefix}.word.w2`, JSON.stringify({ n: 2, label: "two" }));
    await bus.publish(item, { n: 3, label: "three" });
    await waitFor("every message to be settled", async () => seen.length === 3 && (await bus.consumerPending(consumer)).ackPending === 0);
    await consumption.stop();
    expect(seen).toEqual(["item 1", `word hello on ${prefix}.word.w1`, "item 3"]);
    const termed = logger.entries.filter((e) => e.msg === "terminated a message that does not match its schema" && e.obj.consumer === consumer.durable);
    expect(termed.map((e) => e.obj.subject)).toEqual([`${prefix}.word.w2`]);
    expect(await bus.consumerPending(consumer)).toEqual({ pending: 0, ackPending: 0, redelivered: 0 });
  });

  it("acks unread the events whose handler is null, even ones that would fail their schema", async () => {
    const { prefix, item, consumer } = await setup();
    const items: number[] = [];
    const consumption = bus.consume(consumer, { item: async (msg) => void items.push(msg.data.n), word: null });
    await jetstream(raw).publish(`${prefix}.word.w1`, "not even json");
    await bus.publish(item, { n: 1, label: "one" });
    await waitFor("both messages to be settled", async () => items.length === 1 && (await bus.consumerPending(consumer)).ackPending === 0);
    await consumption.stop();
    expect(items).toEqual([1]);
    expect(await bus.consumerPending(consumer)).toEqual({ pending: 0, ackPending: 0, redelivered: 0 });
    expect(logger.entries.filter((e) => e.obj.consumer === consumer.durable && e.level !== "info")).toEqual([]);
  });

  it("terms a message on a subject none of its events uses, and names the events it knows", async () => {
    const { prefix, item, consumer } = await setup();
    const items: number[] = [];
    const consumption = bus.consume(consumer, { item: async (msg) => void items.push(msg.data.n), word: async () => undefined });
    await jetstream(raw).publish(`${prefix}.stranger`, JSON.stringify({ n: 9, label: "nine" }));
    await bus.publish(item, { n: 1, label: "one" });
    await waitFor("both messages to be settled", async () => items.length === 1 && (await bus.consumerPending(consumer)).ackPending === 0);
    await consumption.stop();
    expect(items).toEqual([1]);
    const stray = logger.entries.filter((e) => e.obj.consumer === consumer.durable && e.level === "error");
    expect(stray).toEqual([
      expect.objectContaining({
        msg: "terminated a message on a subject none of the consumer's events uses",
        obj: expect.objectContaining({ subject: `${prefix}.stranger`, events: ["item", "word"] }),
      }),
    ]);
    expect(await bus.consumerPending(consumer)).toEqual({ pending: 0, ackPending: 0, redelivered: 0 });
  });
});
