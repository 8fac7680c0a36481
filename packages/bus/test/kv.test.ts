import type { KvDef } from "@asgard/contracts";
import { Kvm } from "@nats-io/kv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { Bus } from "../src/index.js";
import { memoryLogger, openBus, rawConnection, uid, waitFor } from "./helpers.js";

const Status = z.object({ version: z.number().int(), ok: z.boolean() });
type Status = z.infer<typeof Status>;

function bucket(): KvDef<typeof Status> {
  return { bucket: `kv_${uid()}`, schema: Status, history: 1, storage: "memory", ttlMs: 60_000, description: "test bucket" };
}

describe("kv", () => {
  let bus: Bus;
  const logger = memoryLogger();

  beforeAll(async () => {
    bus = await openBus(undefined, logger);
  });
  afterAll(async () => {
    await bus?.close();
  });

  it("puts, gets and deletes typed values; opening twice is fine", async () => {
    const def = bucket();
    const kv = await bus.kv(def);
    await bus.kv(def);
    expect(await kv.get("snapshot")).toBeNull();
    const rev = await kv.put("snapshot", { version: 1, ok: true });
    expect(rev).toBeGreaterThan(0);
    expect(await kv.get("snapshot")).toEqual({ version: 1, ok: true });
    await kv.delete("snapshot");
    expect(await kv.get("snapshot")).toBeNull();
    await expect(kv.put("snapshot", { version: "x" } as unknown as Status)).rejects.toMatchObject({
      code: "VALIDATION_FAILED",
    });
    await bus.deleteStream(`KV_${def.bucket}`);
  });

  it("creates the bucket with its history, storage and ttl", async () => {
    const def = { ...bucket(), history: 3, ttlMs: 90_000 };
    await bus.kv(def);
    const raw = await rawConnection();
    const status = await (await new Kvm(raw).open(def.bucket)).status();
    expect(status).toMatchObject({ history: 3, ttl: 90_000, storage: "memory" });
    await raw.close();
    await bus.deleteStream(`KV_${def.bucket}`);
  });

  it("watch delivers the current value, then updates and deletes, and skips invalid values", async () => {
    const def = bucket();
    const kv = await bus.kv(def);
    await kv.put("snapshot", { version: 1, ok: true });
    const seen: Array<Status | null> = [];
    const watcher = kv.watch("snapshot", (v) => seen.push(v));
    await waitFor("the current value", () => seen.length === 1);
    expect(seen[0]).toEqual({ version: 1, ok: true });

    // Written around the bus: a value the schema rejects.
    const raw = await rawConnection();
    await (await new Kvm(raw).open(def.bucket)).put("snapshot", JSON.stringify({ version: "bad" }));
    await kv.put("snapshot", { version: 2, ok: false });
    await waitFor("the update", () => seen.length === 2);
    await kv.delete("snapshot");
    await waitFor("the delete", () => seen.length === 3);
    expect(seen).toEqual([{ version: 1, ok: true }, { version: 2, ok: false }, null]);
    expect(logger.messages("error")).toContain("skipped a value that does not match its schema");
    await watcher.stop();
    await kv.put("snapshot", { version: 3, ok: true });
    expect(await kv.get("snapshot")).toEqual({ version: 3, ok: true });
    expect(seen).toHaveLength(3);
    await raw.close();
    await bus.deleteStream(`KV_${def.bucket}`);
  });

  it("watch of an absent key starts quietly and reports the first put", async () => {
    const def = bucket();
    const kv = await bus.kv(def);
    const seen: Array<Status | null> = [];
    const watcher = kv.watch("other", (v) => seen.push(v));
    await kv.put("other", { version: 9, ok: true });
    await waitFor("the first put", () => seen.length === 1);
    expect(seen).toEqual([{ version: 9, ok: true }]);
    await watcher.stop();
    await bus.deleteStream(`KV_${def.bucket}`);
  });
});
