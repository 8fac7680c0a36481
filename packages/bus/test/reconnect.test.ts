import { join } from "node:path";
import { startNatsServer, type NatsServer } from "@asgard/infra";
import { afterAll, describe, expect, inject, it } from "vitest";
import type { Bus, BusState } from "../src/index.js";
import { memoryLogger, openBus, testConsumer, testEvent, testStream, uid, waitFor } from "./helpers.js";

describe("server restart", () => {
  let server: NatsServer | undefined;
  let bus: Bus | undefined;

  afterAll(async () => {
    await bus?.close();
    await server?.stop();
  });

  it("keeps the consumer loop and publishing working after the server comes back on the same store", async () => {
    const storeDir = join(inject("infra").workDir, `restart-${uid()}`);
    server = await startNatsServer({ storeDir });
    const port = server.port;
    const logger = memoryLogger();
    bus = await openBus("bus-restart-test", logger, server.url);
    const states: BusState[] = [];
    bus.onState((s) => states.push(s));

    const stream = testStream({ storage: "file", retention: "workqueue" });
    const event = testEvent(stream);
    const consumer = testConsumer(stream);
    await bus.ensureStream(stream);
    await bus.ensureConsumer(consumer);
    const seen: number[] = [];
    const consumption = bus.consume(consumer, {
      item: async (msg) => {
        seen.push(msg.data.n);
      },
    });

    await bus.publish(event, { n: 1, label: "before" });
    await waitFor("the first message", () => seen.length === 1);

    await server.stop();
    await waitFor("the bus to notice", () => bus?.isConnected() === false);
    await expect(bus.publish(event, { n: 0, label: "while down" })).rejects.toMatchObject({ code: "UNAVAILABLE" });
    await expect(bus.rtt()).rejects.toMatchObject({ code: "UNAVAILABLE" });

    server = await startNatsServer({ storeDir, port });
    await waitFor("the reconnect", () => bus?.isConnected() === true, 30_000);
    await bus.publish(event, { n: 2, label: "after" });
    await waitFor("the message published after the restart", () => seen.length === 2, 30_000);
    expect(seen).toEqual([1, 2]);

    expect(states[0]).toBe("disconnected");
    expect(states.at(-1)).toBe("connected");
    // One log line per state change, not per reconnect attempt.
    expect(logger.messages("warn").filter((m) => m === "reconnecting to NATS")).toHaveLength(
      states.filter((s) => s === "reconnecting").length,
    );
    expect(logger.messages("warn").filter((m) => m === "NATS connection lost")).toHaveLength(1);
    expect(logger.messages("info").filter((m) => m === "NATS connection restored")).toHaveLength(1);
    await consumption.stop();
    expect(await bus.consumerPending(consumer)).toEqual({ pending: 0, ackPending: 0, redelivered: 0 });
  });
});
