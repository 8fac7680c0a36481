import { describe, expect, it } from "vitest";
import {
  childSpan,
  continueTrace,
  formatTraceparent,
  newTrace,
  parseTraceparent,
  storedTrace,
  traceFields,
  traceHeaders,
} from "./trace-context.js";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN_ID = "00f067aa0ba902b7";
const VALID = `00-${TRACE_ID}-${SPAN_ID}-01`;

describe("parseTraceparent", () => {
  it("reads the spec's example", () => {
    expect(parseTraceparent(VALID)).toEqual({ traceId: TRACE_ID, spanId: SPAN_ID, flags: "01" });
    expect(parseTraceparent(`00-${TRACE_ID}-${SPAN_ID}-00`)).toEqual({ traceId: TRACE_ID, spanId: SPAN_ID, flags: "00" });
  });

  it.each([
    ["absent", undefined],
    ["empty", ""],
    ["garbage", "not a traceparent"],
    ["uppercase trace id", `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`],
    ["uppercase parent id", `00-${TRACE_ID}-${SPAN_ID.toUpperCase()}-01`],
    ["uppercase flags", `00-${TRACE_ID}-${SPAN_ID}-0A`],
    ["all-zero trace id", `00-${"0".repeat(32)}-${SPAN_ID}-01`],
    ["all-zero parent id", `00-${TRACE_ID}-${"0".repeat(16)}-01`],
    ["version ff", `ff-${TRACE_ID}-${SPAN_ID}-01`],
    ["a version that is not hex", `0g-${TRACE_ID}-${SPAN_ID}-01`],
    ["version 00 with a field too many", `${VALID}-extra`],
    ["a short trace id", `00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`],
    ["a long parent id", `00-${TRACE_ID}-${SPAN_ID}0-01`],
    ["one-digit flags", `00-${TRACE_ID}-${SPAN_ID}-1`],
    ["two headers joined", `${VALID}, ${VALID}`],
    ["wrong separators", `00_${TRACE_ID}_${SPAN_ID}_01`],
  ])("rejects %s", (_what, value) => {
    expect(parseTraceparent(value)).toBeNull();
  });

  it("reads a later version's first four fields, with or without more after them", () => {
    expect(parseTraceparent(`01-${TRACE_ID}-${SPAN_ID}-01`)).toEqual({ traceId: TRACE_ID, spanId: SPAN_ID, flags: "01" });
    expect(parseTraceparent(`cc-${TRACE_ID}-${SPAN_ID}-09-what-comes-next`)).toEqual({ traceId: TRACE_ID, spanId: SPAN_ID, flags: "09" });
    expect(parseTraceparent(`cc-${TRACE_ID}-${SPAN_ID}-09what`)).toBeNull();
  });
});

describe("new traces and child spans", () => {
  it("starts a sampled trace with random non-zero ids that round-trip", () => {
    const a = newTrace();
    const b = newTrace();
    expect(a.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(a.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(a.flags).toBe("01");
    expect(a.traceId).not.toBe(b.traceId);
    expect(parseTraceparent(formatTraceparent(a))).toEqual(a);
  });

  it("a child span keeps the trace id, flags and tracestate and gets a new span id", () => {
    const parent = { traceId: TRACE_ID, spanId: SPAN_ID, flags: "00", tracestate: "vendor=abc" };
    const child = childSpan(parent);
    expect(child).toMatchObject({ traceId: TRACE_ID, flags: "00", tracestate: "vendor=abc" });
    expect(child.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(child.spanId).not.toBe(SPAN_ID);
  });

  it("gives ids that stay unique across many draws (the pool refills)", () => {
    const ids = new Set(Array.from({ length: 2_000 }, () => newTrace().spanId));
    expect(ids.size).toBe(2_000);
  });
});

describe("continueTrace", () => {
  it("continues the incoming trace as a child span, passing tracestate on", () => {
    const ctx = continueTrace({ traceparent: VALID, tracestate: "congo=t61rcWkgMzE" });
    expect(ctx.traceId).toBe(TRACE_ID);
    expect(ctx.spanId).not.toBe(SPAN_ID);
    expect(traceHeaders(ctx)).toEqual({ traceparent: `00-${TRACE_ID}-${ctx.spanId}-01`, tracestate: "congo=t61rcWkgMzE" });
    expect(traceFields(ctx)).toEqual({ trace_id: TRACE_ID, span_id: ctx.spanId });
  });

  it("finds the header whatever its spelling, and joins repeated tracestate headers", () => {
    const ctx = continueTrace({ Traceparent: VALID, tracestate: ["a=1", "b=2"] });
    expect(ctx.traceId).toBe(TRACE_ID);
    expect(ctx.tracestate).toBe("a=1,b=2");
  });

  it("starts a new trace, without the tracestate, when the traceparent is missing or malformed", () => {
    for (const headers of [undefined, {}, { traceparent: "00-nope" }, { traceparent: [VALID, VALID] }, { traceparent: VALID.toUpperCase(), tracestate: "a=1" }]) {
      const ctx = continueTrace(headers);
      expect(ctx.traceId).not.toBe(TRACE_ID);
      expect(ctx.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(ctx.tracestate).toBeUndefined();
      expect(traceHeaders(ctx)).toEqual({ traceparent: formatTraceparent(ctx) });
    }
  });

  it("drops a tracestate it could not pass on safely", () => {
    expect(continueTrace({ traceparent: VALID, tracestate: "a=1\r\nb=2" }).tracestate).toBeUndefined();
    expect(continueTrace({ traceparent: VALID, tracestate: `a=${"x".repeat(600)}` }).tracestate).toBeUndefined();
  });
});

describe("storedTrace", () => {
  it("reads a stored pair as the context to send on, or null", () => {
    expect(storedTrace(VALID, "a=1")).toEqual({ traceId: TRACE_ID, spanId: SPAN_ID, flags: "01", tracestate: "a=1" });
    expect(storedTrace(VALID, null)).toEqual({ traceId: TRACE_ID, spanId: SPAN_ID, flags: "01" });
    expect(storedTrace(null, "a=1")).toBeNull();
  });
});
