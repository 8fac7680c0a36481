import { describe, expect, it } from "vitest";
import { invocationColumns } from "./invocations.js";
import type { InputSpec } from "./model-info.js";

const NAMED: InputSpec = { kind: "columns", columns: [{ name: "a", type: "double", required: true }, { name: "b", type: "double", required: true }] };
const TENSOR: InputSpec = { kind: "tensor", dtype: "float64", shape: [-1, 2] };

describe("invocationColumns (MLflow's scoring formats)", () => {
  it("reads dataframe_split", () => {
    expect(invocationColumns("dataframe_split", { columns: ["a", "b"], data: [[1, 2], [3, 4]] }, NAMED)).toEqual({ ok: true, inputs: { a: [1, 3], b: [2, 4] } });
  });

  it("reads dataframe_records, a missing key being null", () => {
    expect(invocationColumns("dataframe_records", [{ a: 1, b: 2 }, { a: 3 }], NAMED)).toEqual({ ok: true, inputs: { a: [1, 3], b: [2, null] } });
  });

  it("reads instances and inputs as rows, records, a single column or columns", () => {
    expect(invocationColumns("instances", [[1, 2], [3, 4]], NAMED)).toEqual({ ok: true, inputs: { a: [1, 3], b: [2, 4] } });
    expect(invocationColumns("inputs", [[1, 2]], TENSOR)).toEqual({ ok: true, inputs: { 0: [1], 1: [2] } });
    expect(invocationColumns("inputs", { a: [1, 3], b: [2, 4] }, NAMED)).toEqual({ ok: true, inputs: { a: [1, 3], b: [2, 4] } });
    expect(invocationColumns("inputs", { a: 1, b: 2 }, NAMED)).toEqual({ ok: true, inputs: { a: [1], b: [2] } });
    expect(invocationColumns("instances", [{ a: 1, b: 2 }], NAMED)).toEqual({ ok: true, inputs: { a: [1], b: [2] } });
    expect(invocationColumns("instances", [5, 6], { kind: "tensor", dtype: "float64", shape: [-1] })).toEqual({ ok: true, inputs: { 0: [5, 6] } });
  });

  it.each([
    ["dataframe_split", { columns: ["a", "a"], data: [[1, 2]] }, "dataframe_split.columns", /twice/],
    ["dataframe_split", { columns: ["a"], data: [] }, "dataframe_split.data", /no rows/],
    ["dataframe_split", { columns: ["a"], data: [[[1]]] }, "dataframe_split.data.0.0", /number, string, boolean or null/],
    ["dataframe_records", [], "dataframe_records", /non-empty/],
    ["instances", [[1, 2], [3]], "instances.1", /same length/],
    ["instances", [[1], { a: 1 }], "instances", /one kind/],
    ["inputs", { a: [1, 2], b: [1] }, "inputs", /same number/],
    ["inputs", { a: [{ x: 1 }] }, "inputs.a", /value or a list of values/],
  ] as const)("refuses %s %j", (format, data, field, message) => {
    const result = invocationColumns(format, data, NAMED);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues[0]?.field).toBe(field);
    expect(result.issues[0]?.message).toMatch(message);
  });
});
