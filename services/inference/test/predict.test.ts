import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ErrorBody, InferenceResponse } from "@asgard/contracts";
import { TRAIN_MODELS } from "./fixtures.js";
import { COLD_START_MS, eventually, histogram, registerVersion, runTrainingScript, startStack, unique, type LoggedFixture, type Stack } from "./support.js";

type Fixtures = Record<"named" | "named_v2" | "positional" | "pyfunc", LoggedFixture>;

describe("POST /mlops/inference and /invocations (real gateway, NATS, MLflow and Python workers)", () => {
  let stack: Stack;
  let models: Fixtures;
  const names = { forest: unique("forest"), positional: unique("positional"), pyfunc: unique("pyfunc") };
  const versions = { forest1: "", forest2: "", positional: "", pyfunc: "" };

  const infer = async (body: unknown) => {
    const res = await stack.post("/mlops/inference", body);
    return { status: res.statusCode, headers: res.headers, body: res.json<InferenceResponse & ErrorBody>() };
  };

  beforeAll(async () => {
    stack = await startStack("inference-predict");
    models = (await runTrainingScript(stack.pyenv, TRAIN_MODELS, { EXPERIMENT: unique("inference-train") })) as Fixtures;
    versions.forest1 = await registerVersion(stack.mlflow, names.forest, models.named);
    versions.forest2 = await registerVersion(stack.mlflow, names.forest, models.named_v2);
    versions.positional = await registerVersion(stack.mlflow, names.positional, models.positional);
    versions.pyfunc = await registerVersion(stack.mlflow, names.pyfunc, models.pyfunc);
    await stack.mlflow.setAlias(names.forest, "champion", versions.forest1);
    // The first load builds each model's environment (minutes on a busy machine): done here, in the hook's time.
    const warm = await Promise.all([
      stack.postWhenLoaded("/mlops/inference", { model_name: names.forest, model_version: versions.forest1, inputs: models.named.probe }),
      stack.postWhenLoaded("/mlops/inference", { model_name: names.forest, model_version: versions.forest2, inputs: models.named.probe }),
      stack.postWhenLoaded("/mlops/inference", { model_name: names.positional, inputs: models.positional.probe }),
      stack.postWhenLoaded("/mlops/inference", { model_name: names.pyfunc, inputs: models.pyfunc.probe }),
    ]);
    for (const res of warm) expect(res.statusCode, res.body).toBe(200);
  }, COLD_START_MS);
  afterAll(async () => {
    await stack?.close();
  });

  it("answers with exactly what MLflow predicts in Python, and the same probabilities", async () => {
    const res = await infer({ model_name: names.forest, model_version: versions.forest1, inputs: models.named.probe, return_probabilities: true });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.model_version).toBe(versions.forest1);
    expect(res.body.predictions).toEqual(models.named.predictions);
    expect(res.body.probabilities).toEqual(models.named.probabilities);
    expect(res.body.inference_time_ms).toBeGreaterThan(0);
    expect(res.body.warnings).toEqual([]);
  });

  it("matches columns by name whatever order they are sent in", async () => {
    const reversed = Object.fromEntries(Object.entries(models.named.probe).reverse());
    const res = await infer({ model_name: names.forest, model_version: versions.forest1, inputs: reversed });
    expect(res.body.predictions).toEqual(models.named.predictions);
    expect(res.body.probabilities).toBeNull();
  });

  it("serves the highest READY version when no version is given, and aliases", async () => {
    const latest = await infer({ model_name: names.forest, inputs: models.named.probe, extra: 1 });
    expect(latest.status).toBe(200);
    expect(latest.body.model_version).toBe(versions.forest2);
    expect(latest.body.predictions).toEqual(models.named_v2.predictions);
    expect(latest.body.warnings).toEqual(["unknown field `extra` was ignored"]);

    const champion = await infer({ model_name: names.forest, model_version: "@champion", inputs: models.named.probe });
    expect(champion.body.model_version).toBe(versions.forest1);
    expect(champion.body.predictions).toEqual(models.named.predictions);
  });

  it("follows an alias the moment the registry announces its move", async () => {
    await stack.mlflow.setAlias(names.forest, "challenger", versions.forest1);
    const before = await infer({ model_name: names.forest, model_version: "@challenger", inputs: models.named.probe });
    expect(before.body.model_version).toBe(versions.forest1);
    await stack.mlflow.setAlias(names.forest, "challenger", versions.forest2);
    await stack.announceAlias(names.forest, "challenger", versions.forest2, versions.forest1);
    const after = await eventually(
      () => infer({ model_name: names.forest, model_version: "@challenger", inputs: models.named.probe }),
      (r) => r.body.model_version === versions.forest2,
    );
    expect(after.body.predictions).toEqual(models.named_v2.predictions);
  });

  it("takes the columns of a model logged from numpy arrays in request order", async () => {
    const res = await infer({ model_name: names.positional, inputs: models.positional.probe, return_probabilities: true });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.predictions).toEqual(models.positional.predictions);
    expect(res.body.probabilities).toEqual(models.positional.probabilities);
  });

  it("checks a positional model's column count and types, listing each problem", async () => {
    const count = await infer({ model_name: names.positional, inputs: { a: [1], b: [2] } });
    expect(count.status).toBe(422);
    expect(count.body.error).toBe("VALIDATION_FAILED");
    expect(count.body.issues?.[0]?.message).toMatch(/takes 3 columns by position.*got 2/);
    const types = await infer({ model_name: names.positional, inputs: { a: [1, 2], b: ["x", 2], c: [true, 1] } });
    expect(types.status).toBe(422);
    expect(types.body.issues?.map((i) => i.field)).toEqual(["inputs.b", "inputs.c"]);
    expect(types.body.message).toMatch(/inputs\.b: \(position 1\) must hold numbers/);
  });

  it("refuses missing, extra and wrongly typed named columns with a 422 naming each", async () => {
    const { alpha, beta, gamma } = models.named.probe;
    const res = await infer({ model_name: names.forest, model_version: versions.forest1, inputs: { alpha, beta: beta?.map(String), gamma, height: alpha } });
    expect(res.status).toBe(422);
    const fields = res.body.issues?.map((i) => i.field).sort();
    expect(fields).toEqual(["inputs.beta", "inputs.delta", "inputs.height"]);
    expect(res.body.issues?.find((i) => i.field === "inputs.delta")?.message).toMatch(/missing/);
    expect(res.body.issues?.find((i) => i.field === "inputs.height")?.message).toMatch(/not a column of the model/);
  });

  it("refuses ragged inputs and bad bodies before they reach the service", async () => {
    const ragged = await infer({ model_name: names.forest, inputs: { alpha: [1, 2], beta: [1] } });
    expect(ragged.status).toBe(422);
    expect(ragged.body.issues?.[0]?.message).toMatch(/same number of values/);
    expect((await infer({ model_name: names.forest })).status).toBe(422);
  });

  it("refuses inputs too large for one request with a 413 saying to split them", async () => {
    const column = Array.from({ length: 60_000 }, (_, i) => i + 0.123456789);
    const res = await infer({ model_name: names.forest, inputs: { alpha: column, beta: column } });
    expect(res.status).toBe(413);
    expect(res.body.message).toMatch(/split the rows/);
  });

  it("says a model without predict_proba cannot return probabilities (422)", async () => {
    const res = await infer({ model_name: names.pyfunc, inputs: { x: [1], sleep: [0], crash: [0] }, return_probabilities: true });
    expect(res.status).toBe(422);
    expect(res.body.error).toBe("UNPROCESSABLE");
    expect(res.body.message).toMatch(/no predict_proba/);
    const plain = await infer({ model_name: names.pyfunc, inputs: { x: [1, 2.5], sleep: [0, 0], crash: [0, 0] } });
    expect(plain.body.predictions).toEqual(models.pyfunc.predictions);
  });

  it("answers 404 for an unknown model, version or alias", async () => {
    const model = await infer({ model_name: unique("nobody"), inputs: { a: [1] } });
    expect(model.status).toBe(404);
    expect(model.body.message).toMatch(/no registered model is named/);
    const version = await infer({ model_name: names.forest, model_version: "99", inputs: { a: [1] } });
    expect(version.status).toBe(404);
    expect(version.body.message).toMatch(/has no version 99/);
    const alias = await infer({ model_name: names.forest, model_version: "@nobody", inputs: { a: [1] } });
    expect(alias.status).toBe(404);
    expect(alias.body.message).toMatch(/has no alias "@nobody"/);
  });

  it("coalesces concurrent requests into fewer predict calls, each answered with its own rows", async () => {
    const before = await histogram(stack.metrics, "asgard_inference_batch_requests");
    const probe = models.named.probe;
    const rows = (probe.alpha ?? []).length;
    const requests = Array.from({ length: 48 }, (_, i) => {
      const row = i % rows;
      const inputs = Object.fromEntries(Object.entries(probe).map(([k, v]) => [k, [v[row] as number]]));
      return infer({ model_name: names.forest, model_version: versions.forest1, inputs, return_probabilities: i % 2 === 0 }).then((r) => ({ r, row, i }));
    });
    for (const { r, row, i } of await Promise.all(requests)) {
      expect(r.status).toBe(200);
      expect(r.body.predictions).toEqual([models.named.predictions[row]]);
      expect(r.body.probabilities).toEqual(i % 2 === 0 ? [models.named.probabilities?.[row]] : null);
    }
    const after = await histogram(stack.metrics, "asgard_inference_batch_requests");
    expect(after.sum - before.sum).toBe(48);
    expect(after.count - before.count).toBeLessThan(48);
  });

  describe("MLflow's /invocations protocol", () => {
    const url = () => `/mlops/models/${encodeURIComponent(names.forest)}/versions/${versions.forest1}/invocations`;
    const rowsOf = (probe: Record<string, number[]>) => (probe.alpha ?? []).map((_, r) => Object.keys(probe).map((k) => (probe[k] as number[])[r] as number));

    it.each(["dataframe_split", "dataframe_records", "instances", "inputs", "inputs (columns)"])("accepts %s and answers like mlflow models serve", async (form) => {
      const probe = models.named.probe;
      const columns = Object.keys(probe);
      const rows = rowsOf(probe);
      const bodies: Record<string, unknown> = {
        dataframe_split: { dataframe_split: { columns, data: rows } },
        dataframe_records: { dataframe_records: rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]]))) },
        instances: { instances: rows },
        inputs: { inputs: rows },
        "inputs (columns)": { inputs: probe },
      };
      const res = await stack.post(url(), bodies[form]);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toEqual({ predictions: models.named.predictions });
      expect(res.headers["x-model-version"]).toBe(versions.forest1);
    });

    it("serves latest and aliases in the path", async () => {
      const body = { dataframe_split: { columns: Object.keys(models.named.probe), data: rowsOf(models.named.probe) } };
      const latest = await stack.post(`/mlops/models/${encodeURIComponent(names.forest)}/versions/latest/invocations`, body);
      expect(latest.headers["x-model-version"]).toBe(versions.forest2);
      const champion = await stack.post(`/mlops/models/${encodeURIComponent(names.forest)}/versions/@champion/invocations`, body);
      expect(champion.json()).toEqual({ predictions: models.named.predictions });
    });

    it("answers 404 for an unknown model and 422 for inputs that do not fit", async () => {
      const unknown = await stack.post(`/mlops/models/${unique("nobody")}/versions/1/invocations`, { inputs: [[1]] });
      expect(unknown.statusCode).toBe(404);
      const wrong = await stack.post(url(), { dataframe_split: { columns: ["alpha"], data: [[1]] } });
      expect(wrong.statusCode).toBe(422);
      expect(wrong.json<ErrorBody>().issues?.map((i) => i.field).sort()).toEqual(["dataframe_split.beta", "dataframe_split.delta", "dataframe_split.gamma"]);
      const badVersion = await stack.post(`/mlops/models/${encodeURIComponent(names.forest)}/versions/0/invocations`, { inputs: [[1]] });
      expect(badVersion.statusCode).toBe(422);
    });
  });
});
