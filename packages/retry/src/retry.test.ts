import { describe, expect, it } from "vitest";
import { retry, type RetryPolicy } from "./retry.js";

// Waits of a millisecond: the tests are about which tries happen, not about time.
const quick: RetryPolicy = { initialMs: 1, maxMs: 4 };

/** Work that fails with the given errors in turn, then resolves with the try number. */
function failing(...errors: unknown[]) {
  const tries: number[] = [];
  const work = (attempt: number) => {
    tries.push(attempt);
    const err = errors[attempt - 1];
    return err === undefined ? Promise.resolve(attempt) : Promise.reject(err);
  };
  return { work, tries };
}

describe("retry", () => {
  it("returns the first success, waiting the policy's backoff before each retry", async () => {
    const { work, tries } = failing(new Error("a"), new Error("b"), new Error("c"), new Error("d"));
    const waits: Array<[number, number]> = [];
    const value = await retry(work, quick, { onRetry: ({ attempt, delayMs }) => waits.push([attempt, delayMs]) });
    expect(value).toBe(5);
    expect(tries).toEqual([1, 2, 3, 4, 5]);
    expect(waits).toEqual([[1, 1], [2, 2], [3, 4], [4, 4]]);
  });

  it("passes the random source to the backoff", async () => {
    const { work } = failing(new Error("a"), new Error("b"));
    const delays: number[] = [];
    await retry(work, { initialMs: 100, maxMs: 100, jitter: "full" }, { random: () => 0, onRetry: ({ delayMs }) => delays.push(delayMs) });
    expect(delays).toEqual([0, 0]);
  });

  it("rejects with the last error once maxAttempts tries failed", async () => {
    const last = new Error("third");
    const { work, tries } = failing(new Error("first"), new Error("second"), last, new Error("never reached"));
    await expect(retry(work, { ...quick, maxAttempts: 3 })).rejects.toBe(last);
    expect(tries).toEqual([1, 2, 3]);
  });

  it("stops at once at a failure the retryable predicate refuses", async () => {
    const fatal = Object.assign(new Error("bad input"), { code: "BAD_REQUEST" });
    const { work, tries } = failing(Object.assign(new Error("down"), { code: "UNAVAILABLE" }), fatal);
    const retryable = (err: unknown) => (err as { code?: string }).code === "UNAVAILABLE";
    await expect(retry(work, quick, { retryable })).rejects.toBe(fatal);
    expect(tries).toEqual([1, 2]);
  });

  it("ends a wait when the signal aborts and rejects with the work's error, not an abort error", async () => {
    const controller = new AbortController();
    const err = new Error("still down");
    const { work, tries } = failing(err, new Error("never reached"));
    // A wait of a minute that the abort cuts short.
    const pending = retry(work, { initialMs: 60_000, maxMs: 60_000 }, { signal: controller.signal, onRetry: () => controller.abort() });
    await expect(pending).rejects.toBe(err);
    expect(tries).toEqual([1]);
  });

  it("does not retry once the signal aborted during a try", async () => {
    const controller = new AbortController();
    const err = new Error("aborted midway");
    const tries: number[] = [];
    const work = (attempt: number) => {
      tries.push(attempt);
      controller.abort();
      return Promise.reject(err);
    };
    await expect(retry(work, quick, { signal: controller.signal })).rejects.toBe(err);
    expect(tries).toEqual([1]);
  });
});
