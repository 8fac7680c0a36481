import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModelServingSchema, SERVED_BY_HEADER, type ErrorBody, type InferenceResponse } from "@asgard/contracts";
import { BOOSTER_REQUIREMENTS, TRAIN_BOOSTERS } from "./fixtures.js";
import { closeTo, COLD_START_MS, eventually, registerVersion, runTrainingScript, startStack, unique, type LoggedFixture, type Stack } from "./support.js";

type Fixtures = Record<"lightgbm" | "xgboost" | "pipeline" | "booster", LoggedFixture>;
type Compiled = "lightgbm" | "xgboost" | "pipeline";

/**
 * The compiled path for LightGBM and XGBoost on real infrastructure: models logged with the
 * plain MLflow calls, served by Python first, converted with onnxmltools' converters in the
 * sandbox after their first prediction, then served by ONNX Runtime with MLflow's pyfunc
 * labels; a raw LightGBM Booster stays on Python with the reason in its status.
 */
describe("compiled inference of LightGBM and XGBoost models", () => {
  let stack: Stack;
  let models: Fixtures;
  const names = { lightgbm: unique("onnx-lgbm"), xgboost: unique("onnx-xgb"), pipeline: unique("onnx-pipeline"), booster: unique("onnx-booster") };

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
    stack = await startStack("inference-compile-boosters", { compile: "onnx", warmOnRegister: false });
    models = (await runTrainingScript(stack.pyenv, TRAIN_BOOSTERS, { EXPERIMENT: unique("boosters-train") }, BOOSTER_REQUIREMENTS)) as Fixtures;
    for (const key of Object.keys(names) as Array<keyof Fixtures>) await registerVersion(stack.mlflow, names[key], models[key]);
  }, COLD_START_MS);
  afterAll(async () => {
    await stack?.close();
  });

  it.each<Compiled>(["lightgbm", "xgboost", "pipeline"])(
    "%s: served by Python first, then by ONNX Runtime with pyfunc's labels and probabilities within 1e-5",
    async (key) => {
      const model = models[key];
      const body = { model_name: names[key], inputs: model.probe, return_probabilities: true };
      const first = await stack.postWhenLoaded("/mlops/inference", body);
      expect(first.statusCode, first.body).toBe(200);
      const python = first.json<InferenceResponse>();
      expect(python.served_by).toBe("python");
      expect(python.predictions).toEqual(model.predictions);

      // Bounded by tries (the converter environment may be built cold), never by a time threshold.
      const status = await eventually(() => statusOf(names[key]), (s) => s?.compile.state === "onnx" || s?.compile.state === "python", 900, 1_000);
      expect(status, JSON.stringify(status?.compile)).toMatchObject({ servedBy: "onnx", compile: { state: "onnx", reason: null } });
      const compiled = await infer(body);
      expect(compiled.status).toBe(200);
      expect(compiled.body.served_by).toBe("onnx");
      expect(compiled.body.predictions).toEqual(model.predictions);
      closeTo(compiled.body.probabilities as number[][], model.probabilities as number[][]);
      const serving = await servingOf(names[key]);
      expect(serving).toMatchObject({ model_name: names[key], model_version: "1", served_by: "onnx", compile_state: "onnx", reason: null });
      expect(Date.parse(serving.compiled_at as string)).toBeGreaterThan(0);

      // /invocations keeps MLflow's body exactly and names the path in a header.
      const columns = Object.keys(model.probe);
      const data = (model.probe[columns[0] as string] as number[]).map((_, r) => columns.map((c) => (model.probe[c] as number[])[r]));
      const inv = await stack.post(`/mlops/models/${names[key]}/versions/1/invocations`, { dataframe_split: { columns, data } });
      expect(inv.statusCode, inv.body).toBe(200);
      expect(inv.headers[SERVED_BY_HEADER]).toBe("onnx");
      expect(inv.json()).toEqual({ predictions: model.predictions });
    },
    COLD_START_MS,
  );

  it(
    "keeps a raw LightGBM Booster on Python and says why in its status",
    async () => {
      const body = { model_name: names.booster, inputs: models.booster.probe };
      const first = await stack.postWhenLoaded("/mlops/inference", body);
      expect(first.statusCode, first.body).toBe(200);
      expect(first.json<InferenceResponse>().served_by).toBe("python");
      const status = await eventually(() => statusOf(names.booster), (s) => s?.compile.state === "python", 900, 1_000);
      expect(status?.servedBy).toBe("python");
      expect(status?.compile.reason).toContain("raw LightGBM Booster");
      expect(await servingOf(names.booster)).toMatchObject({ served_by: "python", compile_state: "python", compiled_at: null, reason: status?.compile.reason });
      const again = await infer(body);
      expect(again.body.served_by).toBe("python");
      expect(again.body.predictions).toEqual(models.booster.predictions);
    },
    COLD_START_MS,
  );
});
