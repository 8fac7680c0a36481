import { describe, expect, it } from "vitest";
import { backoffDelayMs, CONNECT_BACKOFF, nakDelayMs, NAK_BACKOFF, withJitter } from "./backoff.js";

describe("backoffDelayMs", () => {
  it("doubles from the initial delay and stops at the cap", () => {
    const policy = { initialMs: 250, maxMs: 5_000 };
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelayMs(n, policy))).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000]);
  });

  it("treats attempts below 1 as the first", () => {
    expect(backoffDelayMs(0, CONNECT_BACKOFF)).toBe(250);
    expect(backoffDelayMs(-3, CONNECT_BACKOFF)).toBe(250);
  });

  it("stays finite for huge attempt numbers", () => {
    expect(backoffDelayMs(1_000_000, CONNECT_BACKOFF)).toBe(5_000);
    expect(backoffDelayMs(Number.MAX_SAFE_INTEGER, NAK_BACKOFF)).toBe(60_000);
  });

  it("honours another factor and a factor of 1", () => {
    expect(backoffDelayMs(3, { initialMs: 100, maxMs: 10_000, factor: 3 })).toBe(900);
    expect(backoffDelayMs(9, { initialMs: 100, maxMs: 10_000, factor: 1 })).toBe(100);
  });

  it("grows the nak delay with the delivery count, capped at a minute", () => {
    expect(nakDelayMs(1)).toBe(1_000);
    expect(nakDelayMs(2)).toBe(2_000);
    expect(nakDelayMs(4)).toBe(8_000);
    expect(nakDelayMs(50)).toBe(60_000);
  });
});

describe("withJitter", () => {
  it("spreads by the ratio around the delay", () => {
    expect(withJitter(1_000, 0.2, () => 0)).toBe(800);
    expect(withJitter(1_000, 0.2, () => 0.5)).toBe(1_000);
    expect(withJitter(1_000, 0.2, () => 1)).toBe(1_200);
  });

  it("never goes below zero", () => {
    expect(withJitter(10, 2, () => 0)).toBe(0);
  });
});
