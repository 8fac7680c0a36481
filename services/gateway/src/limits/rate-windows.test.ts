import { describe, expect, it } from "vitest";
import { RateWindows } from "./rate-windows.js";

const W = 10_000;
/** A moment `offset` ms into window number `n`. */
const at = (n: number, offset = 0) => n * W + offset;

describe("RateWindows", () => {
  it("counts each caller's requests in fixed windows aligned to the epoch and says when the window ends", () => {
    const windows = new RateWindows(W);
    expect(windows.hit("a", at(5, 1_000))).toEqual({ current: 1, ttl: 9_000 });
    expect(windows.hit("a", at(5, 9_999))).toEqual({ current: 2, ttl: 1 });
    expect(windows.hit("b", at(5, 2_000))).toEqual({ current: 1, ttl: 8_000 });
    // The next window starts from zero.
    expect(windows.hit("a", at(6))).toEqual({ current: 1, ttl: W });
    expect(windows.count("b", at(6, 1))).toBe(0);
  });

  it("adds what other replicas published for the same window, and only for it", () => {
    const windows = new RateWindows(W);
    windows.hit("a", at(7));
    windows.merge("r2", { window_ms: W, window_start: at(7), counts: { a: 5, b: 2 } });
    windows.merge("r3", { window_ms: W, window_start: at(7), counts: { a: 3 } });
    // A replica still in the last window, or counting in other windows, adds nothing.
    windows.merge("r4", { window_ms: W, window_start: at(6), counts: { a: 100 } });
    windows.merge("r5", { window_ms: 2 * W, window_start: at(6), counts: { a: 100 } });
    expect(windows.hit("a", at(7, 10))).toEqual({ current: 10, ttl: W - 10 });
    expect(windows.count("b", at(7, 10))).toBe(2);
    // A replica that is gone no longer counts.
    windows.merge("r2", null);
    expect(windows.count("a", at(7, 20))).toBe(5);
  });

  it("counts a replica that published for a window this one has not reached yet once it gets there", () => {
    const windows = new RateWindows(W);
    windows.hit("a", at(3, W - 1));
    windows.merge("ahead", { window_ms: W, window_start: at(4), counts: { a: 4 } });
    expect(windows.count("a", at(3, W - 1))).toBe(1);
    expect(windows.hit("a", at(4))).toEqual({ current: 5, ttl: W });
  });

  it("hands out its own counts for publishing only when they changed, and again after a failed publish", () => {
    const windows = new RateWindows(W);
    expect(windows.takeChanges(at(1))).toBeNull();
    windows.hit("a", at(1, 5));
    windows.hit("a", at(1, 6));
    expect(windows.takeChanges(at(1, 7))).toEqual({ window_ms: W, window_start: at(1), counts: { a: 2 } });
    expect(windows.takeChanges(at(1, 8))).toBeNull();
    windows.republish();
    expect(windows.takeChanges(at(1, 9))).toEqual({ window_ms: W, window_start: at(1), counts: { a: 2 } });
    // A new window with no request yet has nothing to publish; the others' old counts no longer matter.
    windows.hit("a", at(1, 10));
    expect(windows.takeChanges(at(2))).toBeNull();
  });

  it("refuses a window that is not a positive whole number of ms", () => {
    expect(() => new RateWindows(0)).toThrow(/positive whole number/);
    expect(() => new RateWindows(1.5)).toThrow(/positive whole number/);
  });
});
