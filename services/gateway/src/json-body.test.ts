import { describe, expect, it } from "vitest";
import { jsonDepth } from "./json-body.js";

describe("jsonDepth", () => {
  it("counts nesting of arrays and objects", () => {
    expect(jsonDepth("1")).toBe(0);
    expect(jsonDepth("{}")).toBe(1);
    expect(jsonDepth('{"inputs": {"f0": [1, 2]}}')).toBe(3);
    expect(jsonDepth('[[1], [[2]], {"a": [3]}]')).toBe(3);
  });

  it("ignores brackets inside strings, escaped quotes included", () => {
    expect(jsonDepth('{"a": "[[[{{{"}')).toBe(1);
    expect(jsonDepth('{"a": "x\\"[[[", "b": [1]}')).toBe(2);
    expect(jsonDepth('["\\\\", [1]]')).toBe(2);
  });

  it("stops counting past the limit and never overflows", () => {
    const deep = "[".repeat(200_000) + "]".repeat(200_000);
    expect(jsonDepth(deep, 32)).toBe(33);
    expect(jsonDepth(deep)).toBe(200_000);
  });
});
