import { describe, expect, it } from "vitest";
import { InferenceResponseSchema, parseInferenceRequest, parseInvocationsParams, parseInvocationsRequest } from "./inference.js";
import { expectAccepted, expectRefused } from "./test-helpers.js";

const valid = () => ({ model_name: "my-model", inputs: { age: [42, 37], city: ["Oslo", null], member: [true, false] } });

describe("parseInferenceRequest", () => {
  it("accepts the original's request, defaulting to the latest version without probabilities", () => {
    const { value } = expectAccepted(parseInferenceRequest(valid()));
    expect(value).toEqual({ ...valid(), model_version: null, model_ref: { kind: "latest" }, rows: 2, return_probabilities: false });
  });

  it.each([
    [null, { kind: "latest" }, null],
    ["latest", { kind: "latest" }, null],
    ["3", { kind: "version", version: "3" }, "3"],
    [3, { kind: "version", version: "3" }, "3"],
    ["007", { kind: "version", version: "7" }, "7"],
    ["@champion", { kind: "alias", alias: "champion" }, "@champion"],
  ])("reads model_version %j", (model_version, ref, normalized) => {
    const { value } = expectAccepted(parseInferenceRequest({ ...valid(), model_version }));
    expect(value.model_ref).toEqual(ref);
    expect(value.model_version).toBe(normalized);
  });

  it.each([
    ["0", /start at 1/],
    [1.5, /whole version number/],
    ["@latest", /reserved/],
    ["@", /empty/],
    ["Production", /aliases?/],
    ["three", /not a version/],
    [true, /string or a number/],
  ])("refuses model_version %j", (model_version, message) => {
    expect(expectRefused(parseInferenceRequest({ ...valid(), model_version }), 422, "model_version")[0]).toMatch(message);
  });

  it("reads return_probabilities, null meaning false", () => {
    expect(expectAccepted(parseInferenceRequest({ ...valid(), return_probabilities: true })).value.return_probabilities).toBe(true);
    expect(expectAccepted(parseInferenceRequest({ ...valid(), return_probabilities: null })).value.return_probabilities).toBe(false);
    expectRefused(parseInferenceRequest({ ...valid(), return_probabilities: "yes" }), 422, "return_probabilities");
  });

  it("ignores unknown fields with a warning", () => {
    expect(expectAccepted(parseInferenceRequest({ ...valid(), user_id: "u" })).warnings).toEqual(["unknown field `user_id` was ignored"]);
  });

  it.each([
    ["missing", undefined, "inputs", /is required/],
    ["a list", [[1, 2]], "inputs", /object of feature name/],
    ["empty", {}, "inputs", /at least one feature/],
    ["a scalar column", { age: 42 }, "inputs.age", /list of values/],
    ["an empty column", { age: [] }, "inputs.age", /at least one value/],
    ["a nested value", { age: [1, [2]] }, "inputs.age.1", /nested values/],
    ["an object value", { age: [{ v: 1 }, 2, { v: 3 }] }, "inputs.age.0", /and 1 more/],
    ["columns of different lengths", { age: [1, 2, 3], income: [1, 2] }, "inputs", /same number of values.*"age" has 3, "income" has 2/],
    ["an empty feature name", { "": [1] }, "inputs.", /must not be empty/],
  ])("refuses inputs that are %s", (_what, inputs, field, message) => {
    const body: Record<string, unknown> = { ...valid(), inputs };
    if (inputs === undefined) delete body.inputs;
    expect(expectRefused(parseInferenceRequest(body), 422, field).join(" ")).toMatch(message);
  });

  it("describes the answer, probabilities nullable", () => {
    const answer = { model_name: "m", model_version: "3", predictions: [1, 0], probabilities: null, inference_time_ms: 1.2, timestamp: "2025-10-31T10:00:00.000Z", warnings: [] };
    expect(InferenceResponseSchema.parse(answer)).toEqual(answer);
    expect(InferenceResponseSchema.parse({ ...answer, probabilities: [[0.2, 0.8], [0.9, 0.1]] }).probabilities).toHaveLength(2);
  });
});

describe("parseInvocationsRequest (MLflow scoring formats)", () => {
  it.each([
    ["dataframe_split", { columns: ["age", "income"], data: [[42, 5200], [37, 3100]] }],
    ["dataframe_split", { columns: ["age"], data: [[42]], index: [7] }],
    ["dataframe_records", [{ age: 42 }, { age: 37 }]],
    ["instances", [[1, 2], [3, 4]]],
    ["instances", { a: [1, 2] }],
    ["inputs", [1, 2, 3]],
    ["inputs", { text: ["hello"] }],
  ])("accepts %s", (format, data) => {
    expect(expectAccepted(parseInvocationsRequest({ [format]: data })).value).toEqual({ format, data, params: null });
  });

  it("passes params along", () => {
    expect(expectAccepted(parseInvocationsRequest({ inputs: [1], params: { temperature: 0.1 } })).value.params).toEqual({ temperature: 0.1 });
  });

  it("refuses a body with no input or several", () => {
    expectRefused(parseInvocationsRequest({ params: {} }), 422, "(body)");
    expectRefused(parseInvocationsRequest({ inputs: [1], instances: [1] }), 422, "instances, inputs");
  });

  it("refuses unknown fields and bad shapes, naming them", () => {
    expectRefused(parseInvocationsRequest({ inputs: [1], extra: 1 }), 422, "extra");
    expectRefused(parseInvocationsRequest({ dataframe_split: { columns: ["a", "b"], data: [[1]] } }), 422, "dataframe_split.data.0");
    expectRefused(parseInvocationsRequest({ dataframe_split: { columns: ["a"], data: [[1]], index: [1, 2] } }), 422, "dataframe_split.index");
    expectRefused(parseInvocationsRequest({ dataframe_records: [1] }), 422, "dataframe_records.0");
    expectRefused(parseInvocationsRequest({ inputs: "text" }), 422, "inputs");
    expect(parseInvocationsRequest([1]).ok ? 0 : 400).toBe(400);
  });

  it("reads the version from the path", () => {
    expect(expectAccepted(parseInvocationsParams({ model_name: "m", version: "@champion" })).value.version).toEqual({ kind: "alias", alias: "champion" });
    expect(expectAccepted(parseInvocationsParams({ model_name: "m", version: "latest" })).value.version).toEqual({ kind: "latest" });
    expect(expectAccepted(parseInvocationsParams({ model_name: "m", version: "12" })).value.version).toEqual({ kind: "version", version: "12" });
    expectRefused(parseInvocationsParams({ model_name: "m", version: "x y" }), 422, "version");
    expectRefused(parseInvocationsParams({ model_name: "m", version: "0" }), 422, "version");
  });
});
