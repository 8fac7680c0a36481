import { describe, expect, it } from "vitest";
import { ERROR_CODES, isRetryableCode } from "./errors.js";

describe("isRetryableCode", () => {
  it("calls only an unavailable dependency and a timeout retryable; every other code is final", () => {
    expect(ERROR_CODES.filter(isRetryableCode)).toEqual(["UNAVAILABLE", "TIMEOUT"]);
  });
});
