import { describe, expect, it } from "vitest";
import { BusError } from "./errors.js";
import { hasWildcards, isValidSubject, resolvePublishSubject, resolveSubscribeSubject, subjectMatches } from "./subjects.js";

describe("subjectMatches", () => {
  it.each([
    ["job.log.*", "job.log.abc", true],
    ["job.log.*", "job.log", false],
    ["job.log.*", "job.log.abc.def", false],
    ["job.log.>", "job.log.abc.def", true],
    ["job.log.>", "job.log", false],
    ["model.alias.>", "model.alias.x", true],
    ["training.submitted", "training.submitted", true],
    ["training.submitted", "training.submittedx", false],
    ["training.submitted", "training", false],
    ["*.b.*", "a.b.c", true],
    ["*.b.*", "a.x.c", false],
    [">", "anything.at.all", true],
  ])("%s matches %s: %s", (pattern, subject, expected) => {
    expect(subjectMatches(pattern, subject)).toBe(expected);
  });

  it.each([
    ["job.log.>", "job.log.*", true],
    ["job.log.>", "job.log.>", true],
    ["job.log.*", "job.log.*", true],
    ["job.log.*", "job.log.>", false],
    ["job.log.abc", "job.log.*", false],
    ["job.*.x", "job.>", false],
  ])("pattern %s covers pattern %s: %s", (pattern, subject, expected) => {
    expect(subjectMatches(pattern, subject)).toBe(expected);
  });
});

describe("subject checks", () => {
  it("spots wildcards by token, not by character", () => {
    expect(hasWildcards("job.log.*")).toBe(true);
    expect(hasWildcards("job.>")).toBe(true);
    expect(hasWildcards("job.a*b")).toBe(false);
  });

  it("rejects empty tokens, spaces and a > that is not last", () => {
    expect(isValidSubject("a.b")).toBe(true);
    expect(isValidSubject("a..b")).toBe(false);
    expect(isValidSubject("a b")).toBe(false);
    expect(isValidSubject("a.>.b")).toBe(false);
    expect(isValidSubject("")).toBe(false);
  });
});

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
