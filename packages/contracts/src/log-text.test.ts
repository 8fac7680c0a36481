import { describe, expect, it } from "vitest";
import { sanitizeLogText } from "./log-text.js";
import { JobLogSchema } from "./events/training.js";

describe("sanitizeLogText", () => {
  it("keeps ordinary text, tabs and whole surrogate pairs as they are", () => {
    for (const text of ["", "epoch 3 loss=0.12", "\tcolumns\r", "naïve — 数据 🚀"]) expect(sanitizeLogText(text)).toBe(text);
  });

  it("drops NUL bytes", () => {
    expect(sanitizeLogText("a\0b\0\0c")).toBe("abc");
  });

  it("replaces lone surrogates, high or low, anywhere, with U+FFFD", () => {
    expect(sanitizeLogText("x\uD800y")).toBe("x\uFFFDy");
    expect(sanitizeLogText("\uDC00start")).toBe("\uFFFDstart");
    expect(sanitizeLogText("end\uDBFF")).toBe("end\uFFFD");
    expect(sanitizeLogText("\uDC00\uD800")).toBe("\uFFFD\uFFFD");
    expect(sanitizeLogText("ok \uD83D\uDE80 \uD83D bad")).toBe("ok 🚀 \uFFFD bad");
  });

  it("gives text that encodes to valid UTF-8 and back unchanged", () => {
    const nasty = "\0\uD800\uDFFF\uDC00a\uD83D";
    const clean = sanitizeLogText(nasty);
    expect(new TextDecoder("utf-8", { fatal: true }).decode(new TextEncoder().encode(clean))).toBe(clean);
    expect(clean).not.toContain("\0");
  });
});

describe("JobLogSchema", () => {
  it("sanitises every line's text when parsed, on both sides of the wire", () => {
    const batch = JobLogSchema.parse({
      event_id: "j-1-log-1",
      schema_version: 1,
      occurred_at: new Date().toISOString(),
      job_id: "j",
      attempt: 1,
      batch: 1,
      lines: [{ stream: "stdout", text: "a\0\uD800b", at: new Date().toISOString() }],
    });
    expect(batch.lines[0]?.text).toBe("a\uFFFDb");
  });
});
