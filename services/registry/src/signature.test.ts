import { describe, expect, it } from "vitest";
import { inputExamplePath, readMlmodelSignature, readMlmodelSignatureFields } from "./signature.js";

// Written by MLflow 3.17 (`Model.to_yaml()`) for a pandas frame and for numpy arrays.
const FROM_DATAFRAME = `artifact_path: model
flavors:
  python_function:
    loader_module: x
is_signature_from_type_hint: false
mlflow_version: 3.17.2
model_id: null
signature:
  inputs: '[{"type": "double", "name": "sepal length (cm)", "required": true}, {"type":
    "long", "name": "it''s", "required": true}, {"type": "string", "name": "c", "required":
    true}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'
  params: null
type_hint_from_example: false
utc_time_created: '2026-11-27 07:47:07.657601'
`;

const FROM_NUMPY = `flavors: {}
signature:
  inputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 4]}}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'
  params: null
`;

describe("readMlmodelSignature", () => {
  it("reads named columns from a folded single-quoted scalar, quotes included", () => {
    expect(readMlmodelSignature(FROM_DATAFRAME)).toEqual({
      inputs: [
        { name: "sepal length (cm)", type: "double" },
        { name: "it's", type: "long" },
        { name: "c", type: "string" },
      ],
      outputs: [{ name: null, type: "tensor<int64>[-1]" }],
    });
  });

  it("reads tensor specs without names", () => {
    expect(readMlmodelSignature(FROM_NUMPY)).toEqual({
      inputs: [{ name: null, type: "tensor<float64>[-1,4]" }],
      outputs: [{ name: null, type: "tensor<int64>[-1]" }],
    });
  });

  it("reads array columns and double-quoted scalars", () => {
    const text = 'signature:\n  inputs: "[{\\"type\\": \\"array\\", \\"items\\": {\\"type\\": \\"double\\"}, \\"name\\": \\"v\\"}]"\n  outputs: null\n';
    expect(readMlmodelSignature(text)).toEqual({ inputs: [{ name: "v", type: "array<double>" }], outputs: [] });
  });

  it("is null without a signature, with a null one, or with one it cannot read", () => {
    expect(readMlmodelSignature("artifact_path: model\nflavors: {}\n")).toBeNull();
    expect(readMlmodelSignature("signature: null\n")).toBeNull();
    expect(readMlmodelSignature("signature:\n  inputs: '[{broken'\n")).toBeNull();
    expect(readMlmodelSignature("signature:\n  outputs: '[]'\n")).toBeNull();
  });
});

describe("readMlmodelSignatureFields", () => {
  it("reads each column with its type and whether it is required", () => {
    expect(readMlmodelSignatureFields(FROM_DATAFRAME)?.inputs).toEqual([
      { name: "sepal length (cm)", type: "double", dtype: null, shape: null, required: true },
      { name: "it's", type: "long", dtype: null, shape: null, required: true },
      { name: "c", type: "string", dtype: null, shape: null, required: true },
    ]);
  });

  it("reads a tensor's dtype and shape", () => {
    expect(readMlmodelSignatureFields(FROM_NUMPY)).toEqual({
      inputs: [{ name: null, type: "tensor", dtype: "float64", shape: [-1, 4], required: true }],
      outputs: [{ name: null, type: "tensor", dtype: "int64", shape: [-1], required: true }],
    });
  });

  it("turns what it does not understand into unknown fields, and no signature into null", () => {
    const odd = `signature:\n  inputs: '[3, {"type": "tensor", "tensor-spec": {"shape": ["x"]}}]'\n`;
    expect(readMlmodelSignatureFields(odd)?.inputs).toEqual([
      { name: null, type: "unknown", dtype: null, shape: null, required: true },
      { name: null, type: "tensor", dtype: null, shape: null, required: true },
    ]);
    expect(readMlmodelSignatureFields("flavors: {}\n")).toBeNull();
    expect(readMlmodelSignatureFields("signature:\n  inputs: '{not json'\n")).toBeNull();
  });
});

describe("inputExamplePath", () => {
  it("names the example file beside the MLmodel, and nothing that leaves the folder", () => {
    const info = (path: string) => `saved_input_example_info:\n  artifact_path: ${path}\n  type: ndarray\nsignature:\n  inputs: '[]'\n`;
    expect(inputExamplePath(info("input_example.json"))).toBe("input_example.json");
    expect(inputExamplePath(info("../../secret"))).toBeNull();
    expect(inputExamplePath(info("a/b.json"))).toBeNull();
    expect(inputExamplePath(FROM_NUMPY)).toBeNull();
  });
});
