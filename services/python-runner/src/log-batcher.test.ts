import { describe, expect, it } from "vitest";
import type { Bus } from "@asgard/bus";
import type { JobLog } from "@asgard/contracts";
import { MAX_LINE_BYTES } from "@asgard/sandbox";
import { LogBatcher, type LogBatchOptions, type LogRateOptions } from "./log-batcher.js";

/** A NATS stand-in that records batches; `hold()` makes publishes wait until `release()`, as a slow server does. */
function fakeBus() {
  const batches: JobLog[] = [];
  let gate: Promise<void> | null = null;
  let open: () => void = () => undefined;
  let seq = 0;
  const bus: Pick<Bus, "publish"> = {
    publish: (async (_def: unknown, payload: JobLog) => {
      if (gate) await gate;
      batches.push(payload);
      return { seq: ++seq, duplicate: false, stream: "JOB_LOGS" };
    }) as Pick<Bus, "publish">["publish"],
  };
  return {
    bus,
    batches,
    hold() {
      gate = new Promise((r) => (open = r));
    },
    release() {
      gate = null;
      open();
    },
    lines: () => batches.flatMap((b) => b.lines),
  };
}

const of = { jobId: "job-1", attempt: 1, tenant: "default" };
const BATCH: LogBatchOptions = { maxLines: 100, maxBytes: 64 * 1024, minIntervalMs: 10, storedWaitMs: 0, unstoredBatches: 1, burstWaitMs: 0, bufferBytes: 1024 * 1024 };
const UNCAPPED: LogRateOptions = { bytesPerSecond: 1024 ** 3, burstBytes: 1024 ** 3 };
const KIB_LINE = "x".repeat(1024 - 64); // 1 KiB with the per-line overhead

describe("LogBatcher", () => {
  it("sends lines in ordered batches and reports the last one", async () => {
    const nats = fakeBus();
    const logs = new LogBatcher(nats.bus, of, BATCH, UNCAPPED);
    for (let i = 0; i < 250; i++) logs.line("stdout", `line ${i}`);
    const closed = await logs.close();
    expect(nats.lines().map((l) => l.text)).toEqual(Array.from({ length: 250 }, (_, i) => `line ${i}`));
    expect(nats.batches.map((b) => b.batch)).toEqual([1, 2, 3]);
    expect(closed).toMatchObject({ lastBatch: 3, lastSeq: 3, error: null });
  });

  it("sends a batch again when NATS refuses it, with the same message id", async () => {
    const nats = fakeBus();
    const ids: string[] = [];
    let refusals = 2;
    const flaky: Pick<Bus, "publish"> = {
      publish: ((def: unknown, payload: JobLog, opts: { msgId: string }) => {
        ids.push(opts.msgId);
        if (refusals-- > 0) return Promise.reject(new Error("no responders"));
        return (nats.bus.publish as (...args: unknown[]) => unknown)(def, payload, opts);
      }) as Pick<Bus, "publish">["publish"],
    };
    const logs = new LogBatcher(flaky, of, BATCH, UNCAPPED);
    logs.line("stdout", "kept through a hiccup");
    const closed = await logs.close();
    expect(nats.lines().map((l) => l.text)).toEqual(["kept through a hiccup"]);
    expect(ids).toEqual(["job-1-1-log-1", "job-1-1-log-1", "job-1-1-log-1"]);
    expect(closed).toMatchObject({ lastBatch: 1, lastSeq: 1, error: null });
  });

  it("sends a line once the read loop is idle, without waiting for more or for close", async () => {
    const nats = fakeBus();
    const logs = new LogBatcher(nats.bus, of, BATCH, UNCAPPED);
    logs.line("stdout", "a");
    logs.line("stdout", "b");
    expect(nats.batches).toHaveLength(0);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    // Lines written in one go (one read of the pipe) are one batch.
    expect(nats.batches.map((b) => b.lines.map((l) => l.text))).toEqual([["a", "b"]]);
    await logs.close();
    expect(nats.batches).toHaveLength(1);
  });

  it("with burstWaitMs, sends a line on its own at once and waits once for the rest of a burst", async () => {
    const nats = fakeBus();
    const logs = new LogBatcher(nats.bus, of, { ...BATCH, minIntervalMs: 0, burstWaitMs: 60_000 }, UNCAPPED);
    logs.line("stdout", "alone");
    await expect.poll(() => nats.batches.length).toBe(1);
    // Several lines in one read: the start of a burst, so the batch waits for the rest.
    logs.line("stdout", "burst 0");
    logs.line("stdout", "burst 1");
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    logs.line("stdout", "burst 2");
    await new Promise((r) => setImmediate(r));
    expect(nats.batches).toHaveLength(1);
    // Closing sends what waits at once.
    await logs.close();
    expect(nats.batches.map((b) => b.lines.map((l) => l.text))).toEqual([["alone"], ["burst 0", "burst 1", "burst 2"]]);
  });

  it("gathers lines while a batch is in flight and sends them together once it is acknowledged", async () => {
    const nats = fakeBus();
    nats.hold();
    const logs = new LogBatcher(nats.bus, of, { ...BATCH, minIntervalMs: 0 }, UNCAPPED);
    logs.line("stdout", "first");
    await new Promise((r) => setImmediate(r));
    for (let i = 0; i < 5; i++) {
      logs.line("stdout", `while in flight ${i}`);
      await new Promise((r) => setImmediate(r));
    }
    nats.release();
    await expect.poll(() => nats.batches.length).toBe(2);
    expect(nats.batches.map((b) => b.lines.map((l) => l.text))).toEqual([
      ["first"],
      Array.from({ length: 5 }, (_, i) => `while in flight ${i}`),
    ]);
    await logs.close();
    expect(nats.batches.map((b) => b.batch)).toEqual([1, 2]);
  });

  it("sends the next batch once the scheduler stored the last one, or after storedWaitMs without word", async () => {
    const nats = fakeBus();
    const logs = new LogBatcher(nats.bus, of, { ...BATCH, minIntervalMs: 0, storedWaitMs: 60_000 }, UNCAPPED);
    logs.line("stdout", "first");
    await expect.poll(() => nats.batches.length).toBe(1);
    for (let i = 0; i < 3; i++) {
      logs.line("stdout", `meanwhile ${i}`);
      await new Promise((r) => setImmediate(r));
    }
    // Acknowledged by JetStream, not yet stored: the lines gather.
    expect(nats.batches).toHaveLength(1);
    logs.stored(2, 1); // another attempt's batch says nothing about this one
    await new Promise((r) => setImmediate(r));
    expect(nats.batches).toHaveLength(1);
    logs.stored(1, 1);
    await expect.poll(() => nats.batches.length).toBe(2);
    expect(nats.batches[1]?.lines.map((l) => l.text)).toEqual(["meanwhile 0", "meanwhile 1", "meanwhile 2"]);
    // Closing does not wait for the store.
    logs.line("stdout", "last");
    await logs.close();
    expect(nats.lines().map((l) => l.text).at(-1)).toBe("last");

    const lost = fakeBus();
    const quick = new LogBatcher(lost.bus, of, { ...BATCH, minIntervalMs: 0, storedWaitMs: 5 }, UNCAPPED);
    quick.line("stdout", "a");
    await expect.poll(() => lost.batches.length).toBe(1);
    quick.line("stdout", "b");
    // No signal ever comes: the wait ends by itself.
    await expect.poll(() => lost.batches.length).toBe(2);
    await quick.close();
  });

  it("with unstoredBatches 2, sends the next batch while the last one is being stored, never a third before the first is stored", async () => {
    const nats = fakeBus();
    const logs = new LogBatcher(nats.bus, of, { ...BATCH, minIntervalMs: 0, storedWaitMs: 60_000, unstoredBatches: 2 }, UNCAPPED);
    logs.line("stdout", "first");
    await expect.poll(() => nats.batches.length).toBe(1);
    logs.line("stdout", "second");
    // Batch 1 is not stored yet: the rest of a burst still goes to JetStream at once.
    await expect.poll(() => nats.batches.length).toBe(2);
    for (let i = 0; i < 3; i++) {
      logs.line("stdout", `meanwhile ${i}`);
      await new Promise((r) => setImmediate(r));
    }
    // Two batches await the store: the lines gather.
    expect(nats.batches).toHaveLength(2);
    logs.stored(2, 1); // another attempt's batch says nothing about this one
    await new Promise((r) => setImmediate(r));
    expect(nats.batches).toHaveLength(2);
    logs.stored(1, 1);
    await expect.poll(() => nats.batches.length).toBe(3);
    expect(nats.batches.map((b) => b.lines.map((l) => l.text))).toEqual([["first"], ["second"], ["meanwhile 0", "meanwhile 1", "meanwhile 2"]]);
    await logs.close();
    expect(nats.batches.map((b) => b.batch)).toEqual([1, 2, 3]);
  });

  it("holds at most bufferBytes while NATS does not take batches, drops the rest and says how much", async () => {
    const nats = fakeBus();
    nats.hold();
    const logs = new LogBatcher(nats.bus, of, BATCH, UNCAPPED);
    const written = 8 * 1024; // 8 MiB of output against a 1 MiB buffer
    for (let i = 0; i < written; i++) logs.line("stdout", KIB_LINE);
    logs.system("[asgard] script ended: succeeded (exit code 0)");
    nats.release();
    await logs.close();

    const lines = nats.lines();
    const kept = lines.filter((l) => l.text === KIB_LINE).length;
    expect(kept).toBeLessThanOrEqual(BATCH.bufferBytes / 1024);
    expect(kept).toBeGreaterThan(0);
    const markers = lines.filter((l) => l.text.includes("output truncated"));
    expect(markers).toHaveLength(1);
    expect(markers[0]).toMatchObject({ stream: "system" });
    expect(markers[0]?.text).toContain(`${written - kept} lines (${(written - kept) * KIB_LINE.length} bytes) of output dropped`);
    expect(markers[0]?.text).toContain(`log buffer for this job (${BATCH.bufferBytes} bytes)`);
    // The runner's own lines are never dropped.
    expect(lines.some((l) => l.text === "[asgard] script ended: succeeded (exit code 0)")).toBe(true);
  });

  it("takes output again once NATS caught up, with the marker where the gap is", async () => {
    const nats = fakeBus();
    nats.hold();
    const logs = new LogBatcher(nats.bus, of, BATCH, UNCAPPED);
    for (let i = 0; i < 2 * 1024; i++) logs.line("stdout", KIB_LINE);
    nats.release();
    await new Promise((r) => setTimeout(r, 50));
    logs.line("stdout", "after the flood");
    await logs.close();
    const texts = nats.lines().map((l) => l.text);
    const marker = texts.findIndex((t) => t.includes("output truncated"));
    expect(marker).toBeGreaterThan(0);
    expect(texts.slice(marker + 1)).toEqual(["after the flood"]);
  });

  it("drops a job's output beyond its rate cap, with one marker naming the cap; system lines pass", async () => {
    const nats = fakeBus();
    let now = 0;
    const rate: LogRateOptions = { bytesPerSecond: 10 * 1024, burstBytes: 100 * 1024 };
    const logs = new LogBatcher(nats.bus, of, BATCH, rate, undefined, () => now);
    for (let i = 0; i < 300; i++) logs.line("stdout", KIB_LINE); // 300 KiB at once: the burst's 100 pass
    now += 1_000; // one second refills 10 KiB
    for (let i = 0; i < 50; i++) logs.line("stderr", KIB_LINE);
    logs.system("[asgard] script ended: succeeded (exit code 0)");
    await logs.close();

    const lines = nats.lines();
    expect(lines.filter((l) => l.text === KIB_LINE)).toHaveLength(110);
    const markers = lines.filter((l) => l.text.includes("output truncated"));
    expect(markers.map((l) => l.text)).toEqual([
      "[asgard] output truncated: the job wrote faster than its cap of 10240 bytes/s " +
        "(RUNNER_LOG_RATE_BYTES_PER_SECOND, bursts of 102400 bytes); lines past it are dropped",
    ]);
    expect(lines[lines.length - 1]?.text).toBe("[asgard] script ended: succeeded (exit code 0)");
  });

  it("sizes batches by their JSON: a flood of control characters never makes a message over NATS's 1 MiB", async () => {
    const nats = fakeBus();
    // The runner's own batch settings; lines as long as the sandbox passes them.
    const runner: LogBatchOptions = { maxLines: 1_000, maxBytes: 256 * 1024, minIntervalMs: 10, storedWaitMs: 0, unstoredBatches: 2, burstWaitMs: 5, bufferBytes: 64 * 1024 * 1024 };
    const logs = new LogBatcher(nats.bus, of, runner, UNCAPPED);
    const control = "\u0001\u001b\u0007\u0000".repeat(MAX_LINE_BYTES / 4);
    const mixed = `${"\u0002".repeat(100)}text`;
    for (let i = 0; i < 40; i++) {
      logs.line("stdout", control);
      for (let j = 0; j < 50; j++) logs.line("stderr", mixed);
    }
    const closed = await logs.close();
    expect(closed.error).toBeNull();
    expect(nats.lines().filter((l) => l.text === control)).toHaveLength(40);
    const sizes = nats.batches.map((b) => Buffer.byteLength(JSON.stringify(b)));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(1024 * 1024);
    // Only a batch of one line may pass maxBytes (one line's JSON is at most 6 × MAX_LINE_BYTES).
    for (const [i, batch] of nats.batches.entries()) {
      if (batch.lines.length > 1) expect(sizes[i]).toBeLessThanOrEqual(runner.maxBytes + 1024);
    }
  });
});
