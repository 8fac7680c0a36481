import type { EventDef } from "@asgard/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BusError, type Bus } from "../src/index.js";
import { ItemSchema, openBus, testEvent, testStream, uid } from "./helpers.js";

describe("publish", () => {
  let bus: Bus;
  const stream = testStream();
  const event = testEvent(stream);

  beforeAll(async () => {
    bus = await openBus();
    await bus.ensureStream(stream);
  });
  afterAll(async () => {
    await bus?.deleteStream(stream.name);
    await bus?.close();
  });

  it("returns the stream and sequence, and drops a repeated msgId as a duplicate", async () => {
    const msgId = uid();
    const first = await bus.publish(event, { n: 1, label: "a" }, { msgId });
    expect(first).toMatchObject({ stream: stream.name, duplicate: false });
    const again = await bus.publish(event, { n: 1, label: "a" }, { msgId });
    expect(again).toEqual({ stream: stream.name, seq: first.seq, duplicate: true });
    const other = await bus.publish(event, { n: 2, label: "b" }, { msgId: uid() });
    expect(other).toMatchObject({ duplicate: false, seq: first.seq + 1 });
  });

  it("rejects an invalid payload before sending, naming the fields", async () => {
    const bad = { n: 1.5, label: "" } as unknown as { n: number; label: string };
    const err = await bus.publish(event, bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BusError);
    expect(err).toMatchObject({ code: "VALIDATION_FAILED" });
    const issues = (err as BusError).issues ?? [];
    expect(issues.map((i) => i.field).sort()).toEqual(["label", "n"]);
    expect((err as BusError).message).toContain("n, label");
  });

  it("needs a concrete subject inside a wildcard family", async () => {
    const family: EventDef<typeof ItemSchema> = { ...event, subject: `${stream.subjects[0]?.replace(">", "")}logs.*` };
    await expect(bus.publish(family, { n: 1, label: "a" })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    await expect(bus.publish(family, { n: 1, label: "a" }, { subject: "elsewhere.x" })).rejects.toMatchObject({
      code: "BAD_REQUEST",
    });
    const concrete = family.subject.replace("*", "job1");
    await expect(bus.publish(family, { n: 1, label: "a" }, { subject: concrete })).resolves.toMatchObject({
      stream: stream.name,
    });
  });

  it("says UNAVAILABLE when no stream stores the subject", async () => {
    const orphan = testEvent(testStream());
    const err = await bus.publish(orphan, { n: 1, label: "a" }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "UNAVAILABLE" });
    expect((err as Error).message).toContain("no stream");
  });
});
