import { describe, expect, it } from "vitest";
import { scriptEnvironment } from "./environment.js";

describe("scriptEnvironment", () => {
  it("adds HOME = cwd and PWD = cwd to the given variables only", () => {
    expect(scriptEnvironment({ A: "1" }, "/jobs/j1")).toEqual({ A: "1", HOME: "/jobs/j1", PWD: "/jobs/j1" });
  });

  it("keeps a HOME the caller chose", () => {
    expect(scriptEnvironment({ HOME: "/home/x" }, "/jobs/j1").HOME).toBe("/home/x");
  });

  it("rejects names with '=' and values with NUL", () => {
    expect(() => scriptEnvironment({ "A=B": "1" }, "/j")).toThrow(TypeError);
    expect(() => scriptEnvironment({ A: "1\0" }, "/j")).toThrow(TypeError);
  });
});
