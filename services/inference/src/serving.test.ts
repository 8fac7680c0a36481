import { describe, expect, it } from "vitest";
import { ModelServingSchema } from "@asgard/contracts";
import { servingAnswer } from "./serving.js";
import type { ResolvedVersion } from "./resolver.js";

const mv: ResolvedVersion = { tenant: "default", name: "churn", version: "3", source: "models:/m-1", modelId: "m-1", runId: "r-1" };
const answer = (state: Parameters<typeof servingAnswer>[1]) => ModelServingSchema.parse(servingAnswer(mv, state, "inference-1"));

describe("servingAnswer: which path serves a version, and why not ONNX", () => {
  it("names the version and the replica, and gives a reason in every state but onnx", () => {
    const compiledAt = "2026-12-05T02:00:00.000Z";
    const states: Array<[Parameters<typeof servingAnswer>[1], string]> = [
      [{ kind: "absent" }, "not_loaded"],
      [{ kind: "failed", message: "not loaded" }, "not_loaded"],
      [{ kind: "failed", message: "its environment could not be built" }, "not_loaded"],
      [{ kind: "loading", step: "building its Python environment" }, "loading"],
      [{ kind: "ready", servedBy: "python", compile: { state: "off", reason: null, compiledAt: null } }, "off"],
      [{ kind: "ready", servedBy: "python", compile: { state: "pending", reason: null, compiledAt: null } }, "pending"],
      [{ kind: "ready", servedBy: "python", compile: { state: "compiling", reason: null, compiledAt: null } }, "compiling"],
      [{ kind: "ready", servedBy: "python", compile: { state: "python", reason: "the converter refused it: X", compiledAt: null } }, "python"],
      [{ kind: "ready", servedBy: "onnx", compile: { state: "onnx", reason: null, compiledAt } }, "onnx"],
    ];
    for (const [state, compileState] of states) {
      const got = answer(state);
      expect(got).toMatchObject({ model_name: "churn", model_version: "3", instance_id: "inference-1", compile_state: compileState });
      if (compileState === "onnx") expect(got).toMatchObject({ served_by: "onnx", compiled_at: compiledAt, reason: null });
      else expect(got.reason, compileState).toMatch(/\w/);
    }
  });

  it("says what a caller can act on: the step of a load, a failed load's message, the converter's refusal", () => {
    expect(answer({ kind: "absent" })).toMatchObject({ served_by: null, compiled_at: null });
    expect(answer({ kind: "loading", step: "building its Python environment" }).reason).toBe("it is loading (building its Python environment)");
    expect(answer({ kind: "failed", message: "its environment could not be built" }).reason).toBe("its last load failed: its environment could not be built");
    expect(answer({ kind: "ready", servedBy: "python", compile: { state: "python", reason: "the converter refused it: X", compiledAt: null } })).toMatchObject({
      served_by: "python",
      compiled_at: null,
      reason: "the converter refused it: X",
    });
    expect(answer({ kind: "ready", servedBy: "python", compile: { state: "off", reason: null, compiledAt: null } }).reason).toContain("INFERENCE_COMPILE=off");
  });
});
