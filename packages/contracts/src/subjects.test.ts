import { describe, expect, expectTypeOf, it } from "vitest";
import { EVENTS, SIGNALS, jobCancelSubject, jobLogSubject } from "./catalog.js";
import {
  hasWildcards,
  isSubjectToken,
  isValidSubject,
  nameForSubject,
  subjectMatches,
  subjectOf,
  subjectsOverlap,
  type ConcreteSubject,
  type SubjectTokens,
} from "./subjects.js";

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

describe("subjectsOverlap", () => {
  it.each([
    ["model.>", "model.registered", true],
    ["model.registered", "model.>", true],
    ["job.log.*", "job.log.>", true],
    ["job.log.abc", "job.log.*", true],
    ["job.*.x", "job.log.*", true],
    ["job.log.*", "job.cancel.*", false],
    ["a.b", "a.b.c", false],
    ["a.>", "a", false],
    ["model.alias.>", "model.registered", false],
  ])("%s and %s share a subject: %s", (a, b, expected) => {
    expect(subjectsOverlap(a, b)).toBe(expected);
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

  it("takes as a token only what fills exactly one wildcard", () => {
    expect(isSubjectToken("3f2c9a1e-0b7d-4c55-9d8e-5a6b7c8d9e0f")).toBe(true);
    for (const bad of ["", "a.b", "*", ">", "a b", "a\tb"]) expect(isSubjectToken(bad)).toBe(false);
  });
});

describe("subjectOf", () => {
  it("fills each wildcard of a family in order", () => {
    expect(subjectOf(EVENTS.jobLog, "j1")).toBe("job.log.j1");
    expect(subjectOf(SIGNALS.jobCancel, "j1")).toBe("job.cancel.j1");
    expect(subjectOf({ subject: "a.*.b.*" }, "x", "y")).toBe("a.x.b.y");
    expect(jobLogSubject("j2")).toBe("job.log.j2");
    expect(jobCancelSubject("j3")).toBe("job.cancel.j3");
  });

  it("returns a concrete subject as it is", () => {
    expect(subjectOf(EVENTS.runCompleted)).toBe("run.completed");
  });

  it("refuses a token that would name another subject, and a wrong token count", () => {
    expect(() => subjectOf(EVENTS.jobLog, "a.b")).toThrow(/not a single subject token/);
    expect(() => subjectOf(EVENTS.jobLog, ">")).toThrow(TypeError);
    expect(() => subjectOf(EVENTS.jobLog, "")).toThrow(TypeError);
    expect(() => subjectOf({ subject: "a.*.*" } as { subject: string }, "x")).toThrow(/takes 2 token\(s\), got 1/);
    expect(() => subjectOf({ subject: "a.>" } as { subject: string })).toThrow(/'>'/);
  });

  it("every member it builds is matched by its family", () => {
    for (const def of [EVENTS.jobLog, EVENTS.registrationClaim, SIGNALS.jobCancel]) {
      expect(subjectMatches(def.subject, subjectOf(def, "member-1"))).toBe(true);
    }
  });

  it("is typed from the declared subject: one token per wildcard, a template-literal result", () => {
    expectTypeOf<SubjectTokens<"job.log.*">>().toEqualTypeOf<[token: string]>();
    expectTypeOf<SubjectTokens<"a.*.b.*">>().toEqualTypeOf<[token: string, token: string]>();
    expectTypeOf<SubjectTokens<"run.completed">>().toEqualTypeOf<[]>();
    expectTypeOf<ConcreteSubject<"job.log.*">>().toEqualTypeOf<`job.log.${string}`>();
    expectTypeOf<ConcreteSubject<"run.completed">>().toEqualTypeOf<"run.completed">();
    expectTypeOf(subjectOf(EVENTS.jobLog, "j1")).toEqualTypeOf<`job.log.${string}`>();
    expectTypeOf(subjectOf(EVENTS.registrationClaim, "t")).toEqualTypeOf<`registry.claim.${string}`>();
    // @ts-expect-error a family member needs its token
    expect(() => subjectOf(EVENTS.jobLog)).toThrow(TypeError);
    // @ts-expect-error a concrete subject takes no token
    expect(() => subjectOf(EVENTS.runCompleted, "j1")).toThrow(TypeError);
  });
});

describe("nameForSubject", () => {
  const defs = { registered: EVENTS.modelRegistered, alias: EVENTS.modelAliasChanged, log: EVENTS.jobLog };

  it("names the definition whose subject or family takes the subject in", () => {
    expect(nameForSubject(defs, "model.registered")).toBe("registered");
    expect(nameForSubject(defs, "model.alias.changed")).toBe("alias");
    expect(nameForSubject(defs, "job.log.j1")).toBe("log");
    expectTypeOf(nameForSubject(defs, "x")).toEqualTypeOf<"registered" | "alias" | "log" | null>();
  });

  it("is null for a subject none of them uses", () => {
    expect(nameForSubject(defs, "model.registration_failed")).toBeNull();
    expect(nameForSubject(defs, "job.log")).toBeNull();
    expect(nameForSubject(defs, "job.log.a.b")).toBeNull();
  });
});
