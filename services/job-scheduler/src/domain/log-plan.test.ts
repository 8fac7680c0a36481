import { describe, expect, it } from "vitest";
import type { LogLine } from "@asgard/contracts";
import { fitPage, joinLogs, lineBytes, planBatch, truncationMarker } from "./log-plan.js";

const lines = (...texts: string[]): LogLine[] => texts.map((text) => ({ stream: "stdout", text, at: "2026-01-01T00:00:00.000Z" }));

describe("planBatch", () => {
  it("counts each line's UTF-8 bytes and its newline", () => {
    expect(lineBytes("abc")).toBe(4);
    expect(lineBytes("é")).toBe(3);
  });
  it("keeps a batch that fits", () => {
    const plan = planBatch(lines("aaaa", "bbbb"), { bytes: 0, truncated: false }, 10);
    expect(plan).toEqual({ keep: lines("aaaa", "bbbb"), marker: false, account: { bytes: 10, truncated: false } });
  });
  it("stops at the first line that does not fit, marks once and keeps counting", () => {
    const plan = planBatch(lines("aaaa", "bbbbbbbb", "c"), { bytes: 2, truncated: false }, 10);
    expect(plan).toEqual({ keep: lines("aaaa"), marker: true, account: { bytes: 2 + 5 + 9 + 2, truncated: true } });
    const later = planBatch(lines("d"), plan.account, 10);
    expect(later).toEqual({ keep: [], marker: false, account: { bytes: 20, truncated: true } });
  });
  it("names the bound in the marker", () => {
    expect(truncationMarker(1_048_576)).toBe(
      "[asgard] output truncated: the job's output reached its cap of 1048576 bytes (MAX_LOG_BYTES); the rest is not kept",
    );
  });
});

describe("joinLogs", () => {
  it("joins every line when they fit", () => {
    expect(joinLogs(["a", "b"], 100)).toEqual({ logs: "a\nb", cut: false });
    expect(joinLogs([], 100)).toEqual({ logs: "", cut: false });
  });
  it("leaves out what passes the budget, counting JSON escapes, and says where the rest is", () => {
    const result = joinLogs(["aaaa", '"""', "tail"], 12);
    expect(result.cut).toBe(true);
    expect(result.logs).toBe("aaaa\n[log shortened here: 2 more lines; read them from the job's /logs]");
  });
});

describe("fitPage", () => {
  it("keeps whole lines within the budget", () => {
    const page = lines("a".repeat(10), "b".repeat(10), "c".repeat(10));
    const one = Buffer.byteLength(JSON.stringify(page[0])) + 1;
    expect(fitPage(page, one * 2)).toEqual(page.slice(0, 2));
    expect(fitPage(page, one * 3)).toEqual(page);
  });
  it("shortens a single line larger than the budget so the reader moves on", () => {
    const [only] = fitPage(lines("x".repeat(10_000)), 1_000);
    expect(only?.text).toMatch(/^x+ \[line shortened\]$/);
    expect(Buffer.byteLength(JSON.stringify(only))).toBeLessThanOrEqual(1_000);
  });
});
