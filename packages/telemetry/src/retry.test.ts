import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.js";
import { retryUntilReady } from "./retry.js";

function capturedLogger() {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = createLogger("test", "info", { write: (line) => lines.push(JSON.parse(line) as { level: number; msg: string }) });
  return { logger, messages: () => lines.map((l) => l.msg) };
}

describe("retryUntilReady", () => {
  it("logs the first failure and the recovery, not every try", async () => {
    const { logger, messages } = capturedLogger();
    let tries = 0;
    const value = await retryUntilReady(
      "MLflow",
      () => (++tries < 4 ? Promise.reject(new Error("connection refused")) : Promise.resolve("3.17")),
      { logger, backoff: { initialMs: 1, maxMs: 1 } },
    );
    expect(value).toBe("3.17");
    expect(tries).toBe(4);
    expect(messages()).toEqual(["MLflow: not ready, retrying", "MLflow: ready again"]);
  });

  it("logs nothing when the first try works", async () => {
    const { logger, messages } = capturedLogger();
    await retryUntilReady("NATS", () => Promise.resolve(1), { logger });
    expect(messages()).toEqual([]);
  });

  it("rejects with the last failure once its signal aborts", async () => {
    const { logger } = capturedLogger();
    const controller = new AbortController();
    const err = new Error("still down");
    const pending = retryUntilReady(
      "the database",
      () => {
        controller.abort();
        return Promise.reject(err);
      },
      { logger, signal: controller.signal },
    );
    await expect(pending).rejects.toBe(err);
  });
});
