import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MlflowNotFoundError, MlflowValidationError, tagsToRecord, type LoggedModel } from "../src/index.js";
import { rejectionOf, testClient, uniqueName } from "./helpers.js";

const client = testClient();
let experimentId = "";
afterAll(() => client.close());
beforeAll(async () => {
  experimentId = await client.createExperiment(uniqueName("logged"));
});

/** Does over REST what MLflow 3's `log_model(name=…)` does: a LoggedModel, its MLmodel file, READY. */
async function logModel(runId: string, name = "model"): Promise<LoggedModel> {
  const model = await client.createLoggedModel({ experimentId, name, sourceRunId: runId, tags: { flavor: "test" } });
  await client.uploadArtifact(`${model.info.artifact_uri}/MLmodel`, "artifact_path: model\nflavors: {}\n");
  return client.finalizeLoggedModel(model.info.model_id);
}

describe("logged models", () => {
  it("creates, finalizes and gets a LoggedModel", async () => {
    const { info } = await client.createRun({ experimentId });
    const model = await client.createLoggedModel({ experimentId, name: "model", sourceRunId: info.run_id, params: { alpha: "0.5" } });
    expect(model.info.status).toBe("LOGGED_MODEL_PENDING");
    expect(model.info.model_id).toMatch(/^m-/);
    expect(model.info.artifact_uri).toBe(`mlflow-artifacts:/workspaces/default/${experimentId}/models/${model.info.model_id}/artifacts`);

    const ready = await client.finalizeLoggedModel(model.info.model_id);
    expect(ready.info.status).toBe("LOGGED_MODEL_READY");
    const got = await client.getLoggedModel(model.info.model_id);
    expect(got.info.source_run_id).toBe(info.run_id);
    expect(tagsToRecord(got.data.params)).toEqual({ alpha: "0.5" });
    expect(typeof got.info.creation_timestamp_ms).toBe("number");

    await expect(client.getLoggedModel("m-00000000000000000000000000000000")).rejects.toBeInstanceOf(MlflowNotFoundError);
  });

  it("finds a run's models with the source_run_id filter, across pages", async () => {
    const { info } = await client.createRun({ experimentId });
    const other = await client.createRun({ experimentId });
    const mine = await Promise.all([1, 2, 3].map((i) => logModel(info.run_id, `m${i}`)));
    await logModel(other.info.run_id, "m1");

    const found: string[] = [];
    let pageToken: string | undefined;
    do {
      const page = await client.searchLoggedModels({
        experimentIds: [experimentId],
        filter: `source_run_id = '${info.run_id}'`,
        maxResults: 2,
        pageToken,
      });
      found.push(...page.models.map((m) => m.info.model_id));
      pageToken = page.nextPageToken ?? undefined;
    } while (pageToken);
    expect(found.sort()).toEqual(mine.map((m) => m.info.model_id).sort());

    const byName = await client.searchLoggedModels({
      experimentIds: [experimentId],
      filter: `source_run_id = '${info.run_id}' AND name = 'm2'`,
    });
    expect(byName.models.map((m) => m.info.name)).toEqual(["m2"]);
  });

  it("resolves runs:/<run>/model to the run's LoggedModel and registers it the way register_model does", async () => {
    const { info } = await client.createRun({ experimentId });
    const model = await logModel(info.run_id);

    const resolved = await client.resolveRunModelSource(info.run_id, "model");
    expect(resolved).toEqual({ source: `models:/${model.info.model_id}`, runId: info.run_id, modelId: model.info.model_id });

    const name = uniqueName("logged-reg");
    await client.createRegisteredModel(name);
    const mv = await client.createModelVersion({ name, source: resolved.source, runId: resolved.runId, modelId: model.info.model_id });
    const ready = await client.waitForModelVersionReady(name, mv.version, { timeoutMs: 30_000, intervalMs: 100 });
    expect(ready.source).toBe(resolved.source);
    expect(ready.run_id).toBe(info.run_id);

    // MLflow links the LoggedModel back to the version it became.
    const linked = await client.getLoggedModel(model.info.model_id);
    const versions = JSON.parse(tagsToRecord(linked.info.tags)["mlflow.modelVersions"] ?? "[]") as unknown;
    expect(versions).toEqual([{ name, version: Number(mv.version) }]);
  });

  it("prefers MLmodel files in the run's own artifacts, as MLflow 2 logged them", async () => {
    const { info } = await client.createRun({ experimentId });
    await client.uploadArtifact(`${info.artifact_uri}/model/MLmodel`, "flavors: {}\n");
    expect(await client.resolveRunModelSource(info.run_id)).toEqual({
      source: `${info.artifact_uri}/model`,
      runId: info.run_id,
      modelId: null,
    });
  });

  it("reports a run without a model as NOT_FOUND and refuses odd artifact paths", async () => {
    const { info } = await client.createRun({ experimentId });
    const err = await rejectionOf(client.resolveRunModelSource(info.run_id, "model"));
    expect(err).toBeInstanceOf(MlflowNotFoundError);
    expect((err as Error).message).toContain(info.run_id);
    await expect(client.resolveRunModelSource(info.run_id, "it's")).rejects.toBeInstanceOf(MlflowValidationError);
    await expect(client.resolveRunModelSource("0123456789abcdef0123456789abcdef")).rejects.toBeInstanceOf(MlflowNotFoundError);
  });

  it("refuses several same-named models of a run it cannot order", async () => {
    const { info } = await client.createRun({ experimentId });
    await logModel(info.run_id);
    await logModel(info.run_id);
    await expect(client.resolveRunModelSource(info.run_id)).rejects.toBeInstanceOf(MlflowValidationError);
  });
});
