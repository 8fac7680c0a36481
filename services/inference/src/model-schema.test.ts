import { describe, expect, it } from "vitest";
import type { InputSpec } from "./model-info.js";
import { prepareInputs } from "./model-schema.js";

const COLUMNS: InputSpec = {
  kind: "columns",
  columns: [
    { name: "age", type: "long", required: true },
    { name: "income", type: "double", required: true },
    { name: "city", type: "string", required: false },
  ],
};
const TENSOR: InputSpec = { kind: "tensor", dtype: "float64", shape: [-1, 3] };

describe("prepareInputs", () => {
  it("matches named columns by name and puts them in the signature's order", () => {
    const result = prepareInputs(COLUMNS, { income: [5200.5, null], city: ["Oslo", "Bergen"], age: [42, 37] });
    expect(result).toEqual({ ok: true, value: { columns: ["age", "income", "city"], values: [[42, 37], [5200.5, null], ["Oslo", "Bergen"]], rows: 2 } });
  });

  it("fills an optional column that was not sent", () => {
    const result = prepareInputs(COLUMNS, { age: [1], income: [2] });
    expect(result.ok && result.value.values[2]).toEqual([null]);
  });

  it("lists every problem at once: missing, extra and wrongly typed columns", () => {
    const result = prepareInputs(COLUMNS, { age: [1.5, "x", 3], city: [1, "a", "b"], height: [1, 2, 3] });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const byField = Object.fromEntries(result.issues.map((i) => [i.field, i.message]));
    expect(Object.keys(byField).sort()).toEqual(["inputs.age", "inputs.city", "inputs.height", "inputs.income"]);
    expect(byField["inputs.height"]).toMatch(/not a column of the model; it takes "age", "income", "city"/);
    expect(byField["inputs.income"]).toMatch(/missing: the model requires this column \(double\)/);
    expect(byField["inputs.age"]).toMatch(/whole numbers.*row 0 is the fraction 1.5, row 1 is a string "x"/);
    expect(byField["inputs.city"]).toMatch(/strings.*row 0 is 1/);
  });

  it("takes a tensor model's columns in request order, checking count and type", () => {
    const ok = prepareInputs(TENSOR, { z: [1], a: [2], m: [3.5] });
    expect(ok).toEqual({ ok: true, value: { columns: null, values: [[1], [2], [3.5]], rows: 1 } });
    const count = prepareInputs(TENSOR, { a: [1], b: [2] });
    expect(!count.ok && count.issues[0]?.message).toMatch(/takes 3 columns by position.*got 2: "a", "b"/);
    const type = prepareInputs(TENSOR, { a: [1], b: [true], c: [3] });
    expect(!type.ok && type.issues).toEqual([{ field: "inputs.b", message: expect.stringMatching(/\(position 1\) must hold numbers.*float64.*row 0 is the boolean true/) }]);
  });

  it("refuses ragged columns", () => {
    const result = prepareInputs(TENSOR, { a: [1, 2], b: [1], c: [1, 2] });
    expect(!result.ok && result.issues[0]?.message).toMatch(/same number of values.*"b" differ/);
  });

  it("uses scikit-learn's feature names when the model has no signature", () => {
    const spec: InputSpec = { kind: "none", feature_names: ["b", "a"], n_features: 2 };
    expect(prepareInputs(spec, { a: [1], b: [2] })).toEqual({ ok: true, value: { columns: ["b", "a"], values: [[2], [1]], rows: 1 } });
    const counted = prepareInputs({ kind: "none", feature_names: null, n_features: 2 }, { x: [1] });
    expect(counted.ok).toBe(false);
    const open = prepareInputs({ kind: "none", feature_names: null, n_features: null }, { x: ["a"], y: [1] });
    expect(open).toEqual({ ok: true, value: { columns: ["x", "y"], values: [["a"], [1]], rows: 1 } });
  });

  it("says so for a signature columns cannot feed", () => {
    const result = prepareInputs({ kind: "unsupported", reason: "its signature takes several named tensors" }, { a: [1] });
    expect(!result.ok && result.issues).toEqual([{ field: "inputs", message: expect.stringMatching(/several named tensors/) }]);
  });
});
