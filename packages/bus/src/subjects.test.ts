import { describe, expect, it } from "vitest";
import { BusError } from "./errors.js";
import { resolvePublishSubject, resolveSubscribeSubject } from "./subjects.js";

describe("resolvePublishSubject", () => {
  it("uses the declared subject when it is concrete", () => {
    expect(resolvePublishSubject("run.completed", undefined)).toBe("run.completed");
  });

  it("requires a subject inside a declared family", () => {
    expect(resolvePublishSubject("job.log.*", "job.log.j1")).toBe("job.log.j1");
    expect(() => resolvePublishSubject("job.log.*", undefined)).toThrow(BusError);
    expect(() => resolvePublishSubject("job.log.*", "job.other.j1")).toThrow(/outside the declared job\.log\.\*/);
    expect(() => resolvePublishSubject("job.log.*", "job.log.*")).toThrow(/not a concrete subject/);
  });
});

describe("resolveSubscribeSubject", () => {
  it("accepts a narrower subject or pattern and rejects a wider one", () => {
    expect(resolveSubscribeSubject("job.cancel.*", undefined)).toBe("job.cancel.*");
    expect(resolveSubscribeSubject("job.cancel.*", "job.cancel.j1")).toBe("job.cancel.j1");
    expect(() => resolveSubscribeSubject("job.cancel.*", "job.>")).toThrow(BusError);
  });
});
