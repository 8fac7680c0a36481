import { BusError } from "@asgard/bus";
import { MlflowError, MlflowNotFoundError } from "@asgard/mlflow";
import { describe, expect, it } from "vitest";
import { isRetryable } from "./errors.js";

describe("isRetryable", () => {
  it("retries MLflow or NATS being away or slow", () => {
    expect(isRetryable(new MlflowError("UNAVAILABLE", "connection refused"))).toBe(true);
    expect(isRetryable(new BusError("TIMEOUT", "no answer in 5000 ms"))).toBe(true);
  });

  it("gives up on what fails the same way every time", () => {
    expect(isRetryable(new MlflowNotFoundError("no such logged model"))).toBe(false);
    expect(isRetryable(new BusError("UNPROCESSABLE", "the upload of the logged model failed"))).toBe(false);
  });

  it("does not trust a code on an error of unknown origin", () => {
    expect(isRetryable(Object.assign(new Error("x"), { code: "UNAVAILABLE" }))).toBe(false);
    expect(isRetryable("UNAVAILABLE")).toBe(false);
  });
});
