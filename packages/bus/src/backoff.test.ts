import { backoffDelayMs } from "@asgard/retry";
import { describe, expect, it } from "vitest";
import { CONNECT_BACKOFF, LOOP_BACKOFF, nakDelayMs } from "./backoff.js";

describe("the bus's backoffs", () => {
  it("grows the nak delay with the delivery count, capped at a minute, without jitter", () => {
    expect(nakDelayMs(1)).toBe(1_000);
    expect(nakDelayMs(2)).toBe(2_000);
    expect(nakDelayMs(4)).toBe(8_000);
    expect(nakDelayMs(50)).toBe(60_000);
  });

  it("waits 250 ms doubling to 5 s, ±20 %, between connect attempts and failed pulls", () => {
    for (const policy of [CONNECT_BACKOFF, LOOP_BACKOFF]) {
      expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelayMs(n, policy, () => 0.5))).toEqual([250, 500, 1000, 2000, 4000, 5000]);
      expect(backoffDelayMs(1, policy, () => 0)).toBe(200);
      expect(backoffDelayMs(9, policy, () => 1)).toBe(6_000);
    }
  });
});
