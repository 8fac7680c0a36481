import type { ModelServing } from "@asgard/contracts";
import type { VersionState } from "./model-pool.js";
import type { ResolvedVersion } from "./resolver.js";

/**
 * `GET /mlops/models/{model_name}/versions/{version}/serving` from what this replica holds of
 * the version: which path serves it and, whenever that is not ONNX Runtime, why — in words a
 * caller can act on (send a prediction, wait, or read why the conversion was refused).
 */
export function servingAnswer(mv: ResolvedVersion, state: VersionState, instanceId: string): ModelServing {
  const base = { model_name: mv.name, model_version: mv.version, instance_id: instanceId };
  switch (state.kind) {
    case "absent":
      return { ...base, served_by: null, compile_state: "not_loaded", compiled_at: null, reason: NOT_LOADED };
    case "failed":
      // A new entry starts as a due failure ("not loaded") until its first load settles.
      return { ...base, served_by: null, compile_state: "not_loaded", compiled_at: null, reason: state.message === "not loaded" ? NOT_LOADED : `its last load failed: ${state.message}` };
    case "loading":
      return { ...base, served_by: null, compile_state: "loading", compiled_at: null, reason: `it is loading (${state.step})` };
    case "ready": {
      const { state: compile, reason, compiledAt } = state.compile;
      const why = compile === "python" ? (reason ?? "its conversion to ONNX failed") : compile === "onnx" ? null : WHY_PYTHON[compile];
      return { ...base, served_by: state.servedBy, compile_state: compile, compiled_at: compile === "onnx" ? compiledAt : null, reason: why };
    }
  }
}

const NOT_LOADED = "it is not loaded on this replica: a version loads on its first prediction (or when it is registered), and is compiled to ONNX after that prediction";

const WHY_PYTHON = {
  off: "the compiled path is off (INFERENCE_COMPILE=off): every version is served by Python",
  pending: "it is compiled to ONNX after its first prediction on this replica (one version at a time); Python serves it until then",
  compiling: "it is being converted to ONNX and checked for parity; Python serves it meanwhile",
} as const;
