import { describe, expect, it } from "vitest";
import { BusError } from "@asgard/bus";
import { answerWithin } from "./caller-wait.js";

describe("answerWithin", () => {
  it("returns the work's result when it is in time", async () => {
    await expect(answerWithin(5_000, "model m", async () => 42)).resolves.toBe(42);
  });

  it("passes the work's own error through", async () => {
    const err = new BusError("NOT_FOUND", "no such model");
    await expect(answerWithin(5_000, "model m", async () => Promise.reject(err))).rejects.toBe(err);
  });

  it("answers UNAVAILABLE before the caller's wait ends, naming the step the request is in", async () => {
    let finished = false;
    const err = await answerWithin(200, 'model "m"', async (progress) => {
      progress.step = "loading the model (building its Python environment)";
      await new Promise((r) => setTimeout(r, 600));
      finished = true;
      throw new Error("failed after the answer went: nobody hears this");
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BusError);
    expect(err).toMatchObject({ code: "UNAVAILABLE" });
    expect((err as Error).message).toBe('model "m": no answer within the 200 ms the caller waits (loading the model (building its Python environment)); retry shortly');
    expect(finished).toBe(false);
    await new Promise((r) => setTimeout(r, 500)); // the late failure settles without an unhandled rejection
    expect(finished).toBe(true);
  });

  it("names the step as it is when the wait runs out, for a step that moves on by itself", async () => {
    let step = "downloading the model";
    const err = await answerWithin(100, "model m", async (progress) => {
      progress.step = () => `loading the model: ${step}`;
      setTimeout(() => (step = "building its Python environment"), 10);
      return new Promise<never>(() => undefined);
    }).catch((e: unknown) => e);
    expect((err as Error).message).toContain("(loading the model: building its Python environment)");
  });

  it("answers at once when the caller has already stopped waiting", async () => {
    const err = await answerWithin(-5, "model m", () => new Promise<never>(() => undefined)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "UNAVAILABLE" });
  });
});
