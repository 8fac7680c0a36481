import { describe, expect, it } from "vitest";
import { Waker } from "./waker.js";

describe("Waker", () => {
  it("ends a wait on wake, on timeout and on abort", async () => {
    const waker = new Waker();
    const signal = new AbortController().signal;
    const woken = waker.wait(60_000, signal);
    waker.wake();
    expect(await woken).toBe("wake");
    expect(await waker.wait(1, signal)).toBe("timeout");
    const abort = new AbortController();
    const aborted = waker.wait(60_000, abort.signal);
    abort.abort();
    expect(await aborted).toBe("abort");
  });

  it("keeps a wake-up that came while nobody waited, once", async () => {
    const waker = new Waker();
    const signal = new AbortController().signal;
    waker.wake();
    waker.wake();
    expect(await waker.wait(60_000, signal)).toBe("wake");
    expect(await waker.wait(1, signal)).toBe("timeout");
  });

  it("answers abort at once when the signal is already aborted", async () => {
    const abort = new AbortController();
    abort.abort();
    expect(await new Waker().wait(60_000, abort.signal)).toBe("abort");
  });
});
