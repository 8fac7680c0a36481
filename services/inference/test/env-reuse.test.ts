import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import type { InferenceResponse } from "@asgard/contracts";
import { TRAIN_PYFUNC } from "./fixtures.js";
import { COLD_START_MS, registerVersion, runTrainingScript, startStack, unique, type LoggedFixture, type Stack } from "./support.js";

/**
 * Registered → first prediction without a build: MLflow logs the training env's exact
 * versions as the model's requirements, so the env the job trained in satisfies them and the
 * model is served from it (leased like any env a worker uses).
 */
describe("model environments reuse a training environment that satisfies them", () => {
  let stack: Stack;
  let model: LoggedFixture;

  beforeAll(async () => {
    stack = await startStack("inference-reuse");
    model = ((await runTrainingScript(stack.pyenv, TRAIN_PYFUNC, { EXPERIMENT: unique("inference-reuse") })) as { pyfunc: LoggedFixture }).pyfunc;
  }, COLD_START_MS);
  afterAll(async () => {
    await stack?.close();
  });

  it("serves the model from the job's environment without resolving or building, and leases it", async () => {
    // The environment the training script ran in (cached: this builds nothing).
    const training = await stack.pyenv.acquire(["scikit-learn"]);
    await training.release();
    const before = stack.pyenv.stats();

    const name = unique("reuse");
    const version = await registerVersion(stack.mlflow, name, model);
    const res = await stack.postWhenLoaded("/mlops/inference", { model_name: name, model_version: version, inputs: model.probe });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json<InferenceResponse>().predictions).toEqual(model.predictions);

    const after = stack.pyenv.stats();
    expect(after.builds).toBe(before.builds);
    expect(after.compiles).toBe(before.compiles);
    expect(after.reuses).toBe(before.reuses + 1);
    // The worker holds a lease on the training env (other test files may hold theirs too).
    const leases = await readdir(join(inject("infra").workDir, "inference-envs", "format-2", "envs", `${training.envKey}.leases`));
    expect(leases.some((l) => l.startsWith(`${process.pid}-`))).toBe(true);
  }, COLD_START_MS);
});
