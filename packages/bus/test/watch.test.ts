import { subjectOf, type StreamDef } from "@asgard/contracts";
import { jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bus } from "../src/index.js";
import { memoryLogger, openBus, rawConnection, testEvent, testStream, waitFor, type Item, type TestEvent } from "./helpers.js";

/** An event family `t<id>.item.*` on the stream. */
function familyOf(stream: StreamDef): TestEvent {
  const item = testEvent(stream);
  return { ...item, subject: `${item.subject}.*` };
}

describe("watchEvent", () => {
  let bus: Bus;
  let publisher: Bus;
  const logger = memoryLogger();
  const streams: StreamDef[] = [];

  beforeAll(async () => {
    bus = await openBus(undefined, logger);
    publisher = await openBus();
  });
  afterAll(async () => {
    for (const s of streams) await bus?.deleteStream(s.name);
    await bus?.close();
    await publisher?.close();
  });

  it("sees live the JetStream publishes on one member of a family, which the stream still stores", async () => {
    const stream = testStream();
    streams.push(stream);
    await bus.ensureStream(stream);
    const family = familyOf(stream);
    const seen: Array<[Item, string]> = [];
    const watch = bus.watchEvent(family, (item, subject) => seen.push([item, subject]), { subject: subjectOf(family, "j1") });
    await bus.rtt();

    await publisher.publish(family, { n: 1, label: "other job" }, { subject: subjectOf(family, "j2") });
    await publisher.publish(family, { n: 2, label: "watched job" }, { subject: subjectOf(family, "j1") });
    const raw = await rawConnection();
    try {
      raw.publish(subjectOf(family, "j1"), JSON.stringify({ n: "not a number" }));
      await raw.flush();
      await waitFor("the watched publish", () => seen.length === 1);
      await waitFor("the invalid one dropped", () => logger.messages("warn").includes("dropped an invalid signal"));
      expect(seen).toEqual([[{ n: 2, label: "watched job" }, subjectOf(family, "j1")]]);

      await watch.stop();
      await publisher.publish(family, { n: 3, label: "after stop" }, { subject: subjectOf(family, "j1") });
      const jsm = await jetstreamManager(raw);
      // Watching takes nothing away from the stream: it holds all four (the raw publish too).
      expect((await jsm.streams.info(stream.name)).state.messages).toBe(4);
      expect(seen).toHaveLength(1);
    } finally {
      await raw.close();
    }
  });

  it("refuses a subject outside the event's family", () => {
    const family = familyOf(testStream());
    expect(() => bus.watchEvent(family, () => undefined, { subject: "elsewhere.j1" })).toThrow(/outside the declared/);
  });
});
