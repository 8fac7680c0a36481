import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MlflowNotFoundError, MlflowValidationError, tagsToRecord } from "../src/index.js";
import { rejectionOf, testClient, uniqueName } from "./helpers.js";

const client = testClient();
let experimentId = "";

beforeAll(async () => {
  experimentId = await client.createExperiment(uniqueName("runs"));
});
afterAll(() => client.close());

describe("runs", () => {
  it("goes through a run's lifecycle with logBatch and status", async () => {
    const created = await client.createRun({ experimentId, runName: "train", tags: { job: "j1" }, startTime: 1_700_000_000_000 });
    const runId = created.info.run_id;
    expect(created.info.status).toBe("RUNNING");
    expect(created.info.run_name).toBe("train");
    expect(created.info.start_time).toBe(1_700_000_000_000);
    expect(created.info.end_time).toBeNull();
    expect(created.info.artifact_uri).toBe(`mlflow-artifacts:/workspaces/default/${experimentId}/${runId}/artifacts`);

    await client.logBatch(runId, {
      metrics: [
        { key: "acc", value: 0.5, step: 0 },
        { key: "acc", value: 0.9, step: 1 },
        { key: "loss", value: Number.NaN },
      ],
      params: { lr: "0.1", epochs: "3" },
      tags: { stage: "fit" },
    });
    await client.setRunTag(runId, "owner", "tests");
    const info = await client.updateRun(runId, { status: "FINISHED", endTime: 1_700_000_005_000 });
    expect(info.status).toBe("FINISHED");

    const run = await client.getRun(runId);
    expect(run.info.status).toBe("FINISHED");
    expect(run.info.end_time).toBe(1_700_000_005_000);
    const metrics = Object.fromEntries(run.data.metrics.map((m) => [m.key, m]));
    expect(metrics.acc?.value).toBe(0.9);
    expect(metrics.acc?.step).toBe(1);
    expect(metrics.loss?.value).toBeNaN();
    expect(tagsToRecord(run.data.params)).toEqual({ lr: "0.1", epochs: "3" });
    expect(tagsToRecord(run.data.tags)).toMatchObject({ job: "j1", stage: "fit", owner: "tests", "mlflow.runName": "train" });
  });

  it("marks a run FAILED", async () => {
    const { info } = await client.createRun({ experimentId });
    await client.updateRun(info.run_id, { status: "FAILED" });
    expect((await client.getRun(info.run_id)).info.status).toBe("FAILED");
  });

  it("refuses to change a logged param", async () => {
    const { info } = await client.createRun({ experimentId });
    await client.logBatch(info.run_id, { params: { lr: "0.1" } });
    const err = await rejectionOf(client.logBatch(info.run_id, { params: { lr: "0.2" } }));
    expect(err).toBeInstanceOf(MlflowValidationError);
    expect((err as MlflowValidationError).code).toBe("VALIDATION_FAILED");
  });

  it("maps an unknown run to NOT_FOUND, and findRun to null", async () => {
    const err = await rejectionOf(client.getRun("0123456789abcdef0123456789abcdef"));
    expect(err).toBeInstanceOf(MlflowNotFoundError);
    expect((err as MlflowNotFoundError).code).toBe("NOT_FOUND");
    expect((err as MlflowNotFoundError).httpStatus).toBe(404);
    expect(await client.findRun("0123456789abcdef0123456789abcdef")).toBeNull();
    await expect(client.updateRun("0123456789abcdef0123456789abcdef", { status: "KILLED" })).rejects.toBeInstanceOf(
      MlflowNotFoundError,
    );
  });

  it("searches runs with a filter, order and paging", async () => {
    const exp = await client.createExperiment(uniqueName("search-runs"));
    for (const acc of [0.1, 0.6, 0.7, 0.8]) {
      const { info } = await client.createRun({ experimentId: exp });
      await client.logBatch(info.run_id, { metrics: [{ key: "acc", value: acc }] });
    }
    const seen: number[] = [];
    let pageToken: string | undefined;
    do {
      const page = await client.searchRuns({
        experimentIds: [exp],
        filter: "metrics.acc > 0.5",
        orderBy: ["metrics.acc DESC"],
        maxResults: 2,
        pageToken,
      });
      for (const run of page.runs) seen.push(run.data.metrics.find((m) => m.key === "acc")?.value ?? -1);
      pageToken = page.nextPageToken ?? undefined;
    } while (pageToken);
    expect(seen).toEqual([0.8, 0.7, 0.6]);
  });
});
