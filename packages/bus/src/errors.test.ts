import { describe, expect, it } from "vitest";
import { z } from "zod";
import { asBusError, BusError, RemoteError, toFieldIssues, validationError } from "./errors.js";

describe("errors", () => {
  it("turns zod issues into dotted field paths", () => {
    const schema = z.object({ a: z.object({ b: z.array(z.number()) }), c: z.string() });
    const result = schema.safeParse({ a: { b: [1, "x"] }, c: 3 });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(toFieldIssues(result.error).map((i) => i.field)).toEqual(["a.b.1", "c"]);
    const err = validationError("payload of x", result.error);
    expect(err.code).toBe("VALIDATION_FAILED");
    expect(err.message).toBe("payload of x is invalid (a.b.1, c)");
  });

  it("names a root-level problem", () => {
    const result = z.string().safeParse(1);
    if (result.success) throw new Error("expected a failure");
    expect(toFieldIssues(result.error)[0]?.field).toBe("(root)");
  });

  it("classifies nats.js failures by name through the cause chain", () => {
    const timeout = Object.assign(new Error("timeout"), { name: "TimeoutError" });
    expect(asBusError(timeout, "x").code).toBe("UNAVAILABLE");
    const wrapped = new Error("outer", { cause: Object.assign(new Error("inner"), { name: "NoRespondersError" }) });
    expect(asBusError(wrapped, "x").code).toBe("UNAVAILABLE");
    expect(asBusError(new Error("boom"), "x")).toMatchObject({ code: "INTERNAL", message: "x: boom" });
  });

  it("passes a BusError through and keeps RemoteError a BusError", () => {
    const own = new BusError("NOT_FOUND", "gone");
    expect(asBusError(own, "x")).toBe(own);
    const remote = new RemoteError("CONFLICT", "taken", { issues: [{ field: "a", message: "m" }] });
    expect(remote).toBeInstanceOf(BusError);
    expect(remote.name).toBe("RemoteError");
    expect(remote.issues).toEqual([{ field: "a", message: "m" }]);
  });
});
