import { describe, expect, it } from "vitest";
import { backoffDelayMs, type BackoffPolicy } from "./backoff.js";

const policy: BackoffPolicy = { initialMs: 250, maxMs: 5_000 };
const fixed = (value: number) => () => value;

describe("backoffDelayMs", () => {
  it("doubles from the initial delay and stops at the cap", () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelayMs(n, policy))).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000]);
  });

  it("treats retries below 1 as the first", () => {
    expect(backoffDelayMs(0, policy)).toBe(250);
    expect(backoffDelayMs(-3, policy)).toBe(250);
  });

  it("stays finite for huge retry numbers", () => {
    expect(backoffDelayMs(1_000_000, policy)).toBe(5_000);
    expect(backoffDelayMs(Number.MAX_SAFE_INTEGER, { initialMs: 1_000, maxMs: 60_000 })).toBe(60_000);
  });

  it("honours another factor and a factor of 1", () => {
    expect(backoffDelayMs(3, { initialMs: 100, maxMs: 10_000, factor: 3 })).toBe(900);
    expect(backoffDelayMs(9, { initialMs: 100, maxMs: 10_000, factor: 1 })).toBe(100);
  });

  it("never starts above the cap", () => {
    expect(backoffDelayMs(1, { initialMs: 8_000, maxMs: 5_000 })).toBe(5_000);
  });

  it("draws nothing without jitter", () => {
    const random = () => {
      throw new Error("no random number is needed");
    };
    expect(backoffDelayMs(2, policy, random)).toBe(500);
  });
});

describe("jitter", () => {
  it("full: anywhere from 0 to the capped delay", () => {
    const full = { ...policy, jitter: "full" } as const;
    expect(backoffDelayMs(3, full, fixed(0))).toBe(0);
    expect(backoffDelayMs(3, full, fixed(0.5))).toBe(500);
    expect(backoffDelayMs(3, full, fixed(0.999))).toBe(999);
    expect(backoffDelayMs(9, full, fixed(0.5))).toBe(2_500);
  });

  it("equal: from half the capped delay to the delay", () => {
    const equal = { ...policy, jitter: "equal" } as const;
    expect(backoffDelayMs(3, equal, fixed(0))).toBe(500);
    expect(backoffDelayMs(3, equal, fixed(0.5))).toBe(750);
    expect(backoffDelayMs(3, equal, fixed(0.999))).toBe(1_000);
  });

  it("spread: within ±ratio of the capped delay", () => {
    const spread = { ...policy, jitter: { spread: 0.2 } };
    expect(backoffDelayMs(3, spread, fixed(0))).toBe(800);
    expect(backoffDelayMs(3, spread, fixed(0.5))).toBe(1_000);
    expect(backoffDelayMs(3, spread, fixed(1))).toBe(1_200);
    expect(backoffDelayMs(9, spread, fixed(1))).toBe(6_000);
  });

  it("spread never goes below zero", () => {
    expect(backoffDelayMs(1, { initialMs: 10, maxMs: 10, jitter: { spread: 2 } }, fixed(0))).toBe(0);
  });

  it("is the same sequence for the same random source", () => {
    const seq = (values: number[]) => {
      let i = 0;
      return () => values[i++ % values.length] ?? 0;
    };
    const jittery = { ...policy, jitter: "full" } as const;
    const run = () => {
      const random = seq([0.1, 0.7, 0.3, 0.9]);
      return [1, 2, 3, 4, 5].map((n) => backoffDelayMs(n, jittery, random));
    };
    expect(run()).toEqual([25, 350, 300, 1800, 400]);
    expect(run()).toEqual(run());
  });
});
