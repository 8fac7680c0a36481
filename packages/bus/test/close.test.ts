import { setTimeout as sleep } from "node:timers/promises";
import { jetstreamManager } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { BusState } from "../src/index.js";
import { openBus, rawConnection, signal, testConsumer, testEvent, testStream, uid } from "./helpers.js";

describe("close", () => {
  it("drains: waits for in-flight consumer and rpc handlers, lands their work, then closes; idempotent", async () => {
    const bus = await openBus();
    const stream = testStream({ retention: "workqueue" });
    const event = testEvent(stream);
    const consumer = testConsumer(stream);
    await bus.ensureStream(stream);
    await bus.ensureConsumer(consumer);

    const started = signal();
    let handled = false;
    bus.consume(consumer, {
      item: async () => {
        started.resolve();
        await sleep(700);
        handled = true;
      },
    });
    const rpc = { subject: `rpc.close.${uid()}`, request: z.object({}), response: z.object({ done: z.boolean() }), timeoutMs: 5_000, description: "slow" };
    const rpcStarted = signal();
    bus.serve(rpc, async () => {
      rpcStarted.resolve();
      await sleep(700);
      return { done: true };
    });
    const states: BusState[] = [];
    bus.onState((s) => states.push(s));

    await bus.rtt(); // the subscription has reached the server
    const caller = await openBus();
    await bus.publish(event, { n: 1, label: "in flight" });
    const reply = caller.request(rpc, {});
    await Promise.all([started.promise, rpcStarted.promise]);

    const closing = bus.close();
    expect(bus.close()).toBe(closing);
    await closing;
    expect(handled).toBe(true);
    await expect(reply).resolves.toEqual({ done: true });
    expect(bus.state()).toBe("closed");
    expect(bus.isConnected()).toBe(false);
    expect(states).toEqual(["closed"]);

    // The handler's ack reached the server before the connection closed.
    const raw = await rawConnection();
    const jsm = await jetstreamManager(raw);
    expect((await jsm.streams.info(stream.name)).state.messages).toBe(0);
    expect((await jsm.consumers.info(stream.name, consumer.durable)).num_ack_pending).toBe(0);
    await jsm.streams.delete(stream.name);
    await raw.close();

    await expect(bus.publish(event, { n: 2, label: "late" })).rejects.toMatchObject({ code: "UNAVAILABLE" });
    await expect(bus.rtt()).rejects.toMatchObject({ code: "UNAVAILABLE" });
    await caller.close();
  });
});
