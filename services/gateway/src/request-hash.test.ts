import { describe, expect, it } from "vitest";
import { canonicalJson, requestHash } from "./request-hash.js";

describe("canonicalJson", () => {
  it("sorts keys at every depth and keeps array order", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it("drops undefined fields as JSON.stringify does", () => {
    expect(canonicalJson({ a: undefined, b: "x" })).toBe('{"b":"x"}');
  });

  it("keeps a __proto__ key as data", () => {
    const value = JSON.parse('{"__proto__": {"x": 1}, "a": 2}') as unknown;
    expect(canonicalJson(value)).toBe('{"__proto__":{"x":1},"a":2}');
  });
});

describe("requestHash", () => {
  it("is equal for equal values written in another key order and differs otherwise", () => {
    const a = requestHash({ script: "print(1)\n", tags: { v: "1", w: "2" } });
    const b = requestHash({ tags: { w: "2", v: "1" }, script: "print(1)\n" });
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(requestHash({ script: "print(2)\n", tags: { v: "1", w: "2" } })).not.toBe(a);
  });
});
