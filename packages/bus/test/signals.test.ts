import type { SignalDef } from "@asgard/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { Bus } from "../src/index.js";
import { memoryLogger, openBus, rawConnection, uid, waitFor } from "./helpers.js";

const Cancel = z.object({ jobId: z.string().min(1) });

function cancelSignal(): SignalDef<typeof Cancel> {
  return { subject: `sig.${uid()}.cancel.*`, schema: Cancel, description: "cancel a job" };
}

describe("signals", () => {
  let a: Bus;
  let b: Bus;
  const logger = memoryLogger();

  beforeAll(async () => {
    a = await openBus(undefined, logger);
    b = await openBus();
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it("delivers validated signals and drops invalid ones with a log line", async () => {
    const def = cancelSignal();
    const got: Array<[string, string]> = [];
    const sub = a.subscribeSignal(def, (p, subject) => got.push([p.jobId, subject]));
    await a.rtt();
    const raw = await rawConnection();
    raw.publish(def.subject.replace("*", "bad"), JSON.stringify({ jobId: "" }));
    raw.publish(def.subject.replace("*", "worse"), "not json");
    await raw.flush();
    b.publishSignal(def, { jobId: "j1" }, { subject: def.subject.replace("*", "j1") });
    await waitFor("the valid signal", () => got.length === 1);
    expect(got).toEqual([["j1", def.subject.replace("*", "j1")]]);
    await waitFor("two drops logged", () => logger.messages("warn").filter((m) => m === "dropped an invalid signal").length === 2);
    expect(() => b.publishSignal(def, { jobId: "" }, { subject: def.subject.replace("*", "x") })).toThrow(/jobId/);
    expect(() => b.publishSignal(def, { jobId: "x" })).toThrow(/pattern/);
    await sub.stop();
    await raw.close();
  });

  it("narrows a subscription to one subject and spreads a queue group", async () => {
    const def = cancelSignal();
    const only: string[] = [];
    const narrow = a.subscribeSignal(def, (p) => only.push(p.jobId), { subject: def.subject.replace("*", "j2") });
    const q1: string[] = [];
    const q2: string[] = [];
    const s1 = a.subscribeSignal(def, (p) => q1.push(p.jobId), { queue: "workers" });
    const s2 = b.subscribeSignal(def, (p) => q2.push(p.jobId), { queue: "workers" });
    await a.rtt();
    await b.rtt();
    for (let i = 0; i < 40; i++) b.publishSignal(def, { jobId: `j${i}` }, { subject: def.subject.replace("*", `j${i}`) });
    await waitFor("all queue deliveries", () => q1.length + q2.length === 40);
    await waitFor("the narrow delivery", () => only.length === 1);
    expect(only).toEqual(["j2"]);
    expect(q1.length).toBeGreaterThan(0);
    expect(q2.length).toBeGreaterThan(0);
    await Promise.all([narrow.stop(), s1.stop(), s2.stop()]);
  });
});
