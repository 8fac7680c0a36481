import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createLogger } from "./logger.js";
import { startPeriodic } from "./periodic.js";

/** A logger whose warn/info calls are recorded. */
function recordingLogger() {
  const logger = createLogger("periodic-test", "silent");
  const warn = vi.spyOn(logger, "warn");
  const info = vi.spyOn(logger, "info");
  return { logger, warn, info };
}

describe("startPeriodic", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("runs at once, then one interval after a pass ended (delay) or started (rate)", async () => {
    for (const pacing of ["delay", "rate"] as const) {
      const starts: number[] = [];
      const { logger } = recordingLogger();
      const loop = startPeriodic({
        name: "loop",
        intervalMs: 100,
        pacing,
        logger,
        run: async () => {
          starts.push(Date.now());
          await new Promise((r) => setTimeout(r, 30));
        },
      });
      const t0 = Date.now();
      await vi.advanceTimersByTimeAsync(300);
      const stopping = loop.stop();
      await vi.advanceTimersByTimeAsync(30);
      await stopping;
      const offsets = starts.map((t) => t - t0);
      expect(offsets).toEqual(pacing === "delay" ? [0, 130, 260] : [0, 100, 200, 300]);
    }
  });

  it("logs a failing loop once when it starts failing and once when it recovers, and reports every pass", async () => {
    const { logger, warn, info } = recordingLogger();
    const outcomes: unknown[] = [];
    let failures = 3;
    const loop = startPeriodic({
      name: "probe",
      intervalMs: 10,
      logger,
      failureMessage: "probe failed; keeping the last value",
      describeError: (err) => (err instanceof Error ? err.message : err),
      onPass: (err) => outcomes.push(err === null ? "ok" : "failed"),
      run: async () => {
        if (failures-- > 0) throw new Error("down");
      },
    });
    await vi.advanceTimersByTimeAsync(45);
    await loop.stop();
    expect(outcomes.slice(0, 4)).toEqual(["failed", "failed", "failed", "ok"]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith({ loop: "probe", err: "down" }, "probe failed; keeping the last value");
    expect(info).toHaveBeenCalledWith({ loop: "probe" }, "probe works again");
  });

  it("wake runs a pass at once, or right after the current one; stop waits for the pass in flight", async () => {
    const { logger } = recordingLogger();
    let passes = 0;
    let finished = 0;
    const loop = startPeriodic({
      name: "woken",
      intervalMs: 10_000,
      logger,
      run: async () => {
        passes += 1;
        await new Promise((r) => setTimeout(r, 50));
        finished += 1;
      },
    });
    await vi.advanceTimersByTimeAsync(10);
    loop.wake(); // during the first pass: another follows it at once
    await vi.advanceTimersByTimeAsync(100);
    expect(passes).toBe(2);
    loop.wake(); // idle: at once
    await vi.advanceTimersByTimeAsync(1);
    expect(passes).toBe(3);
    const stopping = loop.stop();
    await vi.advanceTimersByTimeAsync(50);
    await stopping;
    expect(finished).toBe(3);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(passes).toBe(3);
  });
});
