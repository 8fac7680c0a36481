import { describe, expect, it } from "vitest";
import { safeJoin } from "./safe-join.js";

describe("safeJoin", () => {
  it("joins names and nested paths below the root", () => {
    expect(safeJoin("/work/job", "train.py")).toBe("/work/job/train.py");
    expect(safeJoin("/work/job/", "model/MLmodel")).toBe("/work/job/model/MLmodel");
    expect(safeJoin("/work/job", "a/../b.txt")).toBe("/work/job/b.txt");
  });

  it("refuses whatever would leave the root, or name the root itself", () => {
    for (const path of ["../x.pth", "a/../../x", "/etc/passwd", "", ".", "a/..", "..", "x\0y"]) {
      expect(() => safeJoin("/work/job", path), path).toThrow(RangeError);
    }
    // A sibling that merely shares the root's name as a prefix is outside too.
    expect(() => safeJoin("/work/job", "../job-other/x")).toThrow(RangeError);
  });
});
