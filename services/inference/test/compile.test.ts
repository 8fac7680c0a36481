import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModelServingSchema, SERVED_BY_HEADER, type ErrorBody, type InferenceResponse } from "@asgard/contracts";
import { TRAIN_COMPILE } from "./fixtures.js";
import { closeTo, COLD_START_MS, eventually, registerVersion, runTrainingScript, startStack, unique, type LoggedFixture, type Stack } from "./support.js";

type Fixtures = Record<"forest" | "pyfunc", LoggedFixture>;

/**
 * The compiled path on real infrastructure: a model is served by Python first, compiled to
 * ONNX in the sandbox after its first prediction (its converter environment built by pyenv,
 * minutes when cold), then served by ONNX Runtime with the same labels; a model no converter
 * takes stays on Python with the reason in its status.
 */
describe("compiled inference (ONNX Runtime after the first prediction)", () => {
  let stack: Stack;
  let models: Fixtures;
  const names = { forest: unique("compiled-forest"), pyfunc: unique("compiled-pyfunc") };

  const infer = async (body: unknown) => {
    const res = await stack.post("/mlops/inference", body);
    return { status: res.statusCode, body: res.json<InferenceResponse & ErrorBody>() };
  };
  const statusOf = async (name: string) => (await stack.inference.stats()).loaded.find((m) => m.name === name);
  /** What a caller sees over HTTP: which path serves the version and, if not ONNX, why. */
  const servingOf = async (name: string) => {
    const res = await stack.gateway.inject({ method: "GET", url: `/mlops/models/${name}/versions/1/serving` });
    expect(res.statusCode, res.body).toBe(200);
    return ModelServingSchema.parse(res.json());
  };

  beforeAll(async () => {
    stack = await startStack("inference-compile", { compile: "onnx", warmOnRegister: false });
    models = (await runTrainingScript(stack.pyenv, TRAIN_COMPILE, { EXPERIMENT: unique("compile-train") })) as Fixtures;
    await registerVersion(stack.mlflow, names.forest, models.forest);
    await registerVersion(stack.mlflow, names.pyfunc, models.pyfunc);
  }, COLD_START_MS);
  afterAll(async () => {
    await stack?.close();
  });

  it(
    "serves a RandomForest by Python first, then by ONNX Runtime with the same labels and probabilities within 1e-5",
    async () => {
      const body = { model_name: names.forest, inputs: models.forest.probe, return_probabilities: true };
      expect(await servingOf(names.forest)).toMatchObject({ served_by: null, compile_state: "not_loaded" });
      const first = await stack.postWhenLoaded("/mlops/inference", body);
      expect(first.statusCode, first.body).toBe(200);
      const python = first.json<InferenceResponse>();
      expect(python.served_by).toBe("python");
      expect(python.predictions).toEqual(models.forest.predictions);
      expect(python.probabilities).toEqual(models.forest.probabilities);

      // Bounded by tries (the converter environment may be built cold), never by a time threshold.
      const compiled = await eventually(() => infer(body), (r) => r.body.served_by === "onnx", 900, 1_000);
      expect(compiled.status).toBe(200);
      expect(compiled.body.predictions).toEqual(models.forest.predictions);
      closeTo(compiled.body.probabilities as number[][], models.forest.probabilities as number[][]);
      expect(await statusOf(names.forest)).toMatchObject({ servedBy: "onnx", compile: { state: "onnx", reason: null } });
      expect(await servingOf(names.forest)).toMatchObject({ served_by: "onnx", compile_state: "onnx", reason: null });

      // /invocations keeps MLflow's body exactly and names the path in a header.
      const split = { columns: Object.keys(models.forest.probe), data: (models.forest.probe.f0 as number[]).map((_, r) => Object.values(models.forest.probe).map((col) => col[r])) };
      const inv = await stack.post(`/mlops/models/${names.forest}/versions/1/invocations`, { dataframe_split: split });
      expect(inv.statusCode, inv.body).toBe(200);
      expect(inv.headers[SERVED_BY_HEADER]).toBe("onnx");
      expect(inv.json()).toEqual({ predictions: models.forest.predictions });
    },
    COLD_START_MS,
  );

  it(
    "keeps a custom pyfunc model on Python and says why in its status",
    async () => {
      const first = await stack.postWhenLoaded("/mlops/inference", { model_name: names.pyfunc, inputs: models.pyfunc.probe });
      expect(first.statusCode, first.body).toBe(200);
      expect(first.json<InferenceResponse>().served_by).toBe("python");
      const status = await eventually(() => statusOf(names.pyfunc), (s) => s?.compile.state === "python", 900, 1_000);
      expect(status?.servedBy).toBe("python");
      expect(status?.compile.reason).toContain("served through pyfunc.predict");
      expect(await servingOf(names.pyfunc)).toMatchObject({ served_by: "python", compile_state: "python", compiled_at: null, reason: status?.compile.reason });
      const again = await infer({ model_name: names.pyfunc, inputs: models.pyfunc.probe });
      expect(again.body.served_by).toBe("python");
      expect(again.body.predictions).toEqual(models.pyfunc.predictions);
    },
    COLD_START_MS,
  );
});
