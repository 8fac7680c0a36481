import { join } from "node:path";
import { freePort, startNatsServer } from "@asgard/infra";
import { describe, expect, inject, it } from "vitest";
import { BusError, connectBus } from "../src/index.js";
import { memoryLogger, natsUrl, uid } from "./helpers.js";

describe("connectBus", () => {
  it("connects, names itself and measures the round trip", async () => {
    const bus = await connectBus({ servers: natsUrl(), name: "bus-connect-test", logger: memoryLogger() });
    expect(bus.name).toBe("bus-connect-test");
    expect(bus.isConnected()).toBe(true);
    expect(bus.state()).toBe("connected");
    expect(await bus.rtt()).toBeGreaterThanOrEqual(0);
    await bus.close();
  });

  it("gives up the first connect after connectTimeoutMs with UNAVAILABLE, logging once", async () => {
    const port = await freePort();
    const logger = memoryLogger();
    const err = await connectBus({ servers: `nats://127.0.0.1:${port}`, name: "nobody-home", logger, connectTimeoutMs: 1_500 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BusError);
    expect(err).toMatchObject({ code: "UNAVAILABLE" });
    expect((err as Error).message).toContain("within 1500 ms");
    expect(logger.messages("warn")).toEqual(["NATS is not reachable yet; retrying"]);
  });

  it("stops retrying when its signal aborts", async () => {
    const port = await freePort();
    const controller = new AbortController();
    const pending = connectBus({ servers: `nats://127.0.0.1:${port}`, name: "aborted", logger: memoryLogger(), signal: controller.signal });
    setTimeout(() => controller.abort(), 300);
    await expect(pending).rejects.toMatchObject({ code: "UNAVAILABLE", message: expect.stringContaining("aborted") });
  });

  it("keeps retrying until a late server comes up", async () => {
    const port = await freePort();
    const logger = memoryLogger();
    const pending = connectBus({ servers: `nats://127.0.0.1:${port}`, name: "patient", logger });
    await new Promise((r) => setTimeout(r, 1_200));
    const server = await startNatsServer({ storeDir: join(inject("infra").workDir, `late-${uid()}`), port });
    try {
      const bus = await pending;
      expect(bus.isConnected()).toBe(true);
      expect(logger.messages("warn")).toEqual(["NATS is not reachable yet; retrying"]);
      expect(logger.messages("info")).toContain("connected to NATS");
      await bus.close();
    } finally {
      await server.stop();
    }
  });
});
