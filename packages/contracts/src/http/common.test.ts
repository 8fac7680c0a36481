import { describe, expect, it } from "vitest";
import { z } from "zod";
import { errorBody, fieldPath, issuesFailure, MAX_ISSUES_LISTED, parseLenient, parseStrict } from "./common.js";
import { ErrorBodySchema } from "../errors.js";

const schema = z.object({ name: z.string(), size: z.number().int().min(1).optional() });
const fields = ["name", "size"];

describe("parseLenient", () => {
  it("ignores unknown fields, naming each in warnings, and keeps them out of the value", () => {
    const result = parseLenient(schema, { name: "a", colour: "red" }, fields);
    expect(result).toEqual({ ok: true, value: { name: "a" }, warnings: ["unknown field `colour` was ignored"] });
  });

  it("words zod's own issues by field", () => {
    const result = parseLenient(schema, { size: 0.5 }, fields);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.status).toBe(422);
    expect(result.body.error).toBe("VALIDATION_FAILED");
    expect(result.body.issues).toEqual([
      { field: "name", message: "is required (a string)" },
      { field: "size", message: "must be an integer, not a number" },
    ]);
    expect(ErrorBodySchema.parse(result.body)).toEqual(result.body);
  });

  it("cuts a huge unknown field name short in its warning", () => {
    const result = parseLenient(schema, { name: "a", ["k".repeat(500)]: 1 }, fields);
    expect(result.ok && result.warnings[0]!.length).toBeLessThan(150);
  });
});

describe("parseStrict", () => {
  it("refuses unknown fields together with the other issues", () => {
    const result = parseStrict(schema, { size: 2, colour: "red" }, fields);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.body.issues?.map((i) => i.field)).toEqual(["colour", "name"]);
    expect(result.body.issues?.[0]?.message).toMatch(/this route accepts name, size/);
  });

  it("answers 400 when the body is not an object", () => {
    const result = parseStrict(schema, [1], fields);
    expect(result.ok ? 0 : result.status).toBe(400);
  });
});

describe("error bodies", () => {
  it("lists at most MAX_ISSUES_LISTED issues and counts the rest in the message", () => {
    const issues = Array.from({ length: MAX_ISSUES_LISTED + 20 }, (_, i) => ({ field: `f${i}`, message: "is wrong" }));
    const failure = issuesFailure(issues);
    expect(failure.body.issues).toHaveLength(MAX_ISSUES_LISTED);
    expect(failure.body.message).toMatch(/has 120 problems: f0: is wrong; .* and 115 more/);
  });

  it("leaves out an empty issue list", () => {
    expect(errorBody("NOT_FOUND", "no job")).toEqual({ error: "NOT_FOUND", message: "no job" });
  });

  it("joins field paths with dots", () => {
    expect(fieldPath(["requirements", 2])).toBe("requirements.2");
    expect(fieldPath([])).toBe("(body)");
  });
});
