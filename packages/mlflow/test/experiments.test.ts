import { afterAll, describe, expect, it } from "vitest";
import { MlflowConflictError, MlflowNotFoundError } from "../src/index.js";
import { rejectionOf, testClient, uniqueName } from "./helpers.js";

const client = testClient();
afterAll(() => client.close());

describe("experiments", () => {
  it("creates, gets by id and by name", async () => {
    const name = uniqueName("exp");
    const id = await client.createExperiment(name, { tags: { team: "asgard" } });
    const byId = await client.getExperiment(id);
    expect(byId.name).toBe(name);
    expect(byId.lifecycle_stage).toBe("active");
    expect(byId.tags).toContainEqual({ key: "team", value: "asgard" });
    expect(typeof byId.creation_time).toBe("number");
    const byName = await client.getExperimentByName(name);
    expect(byName?.experiment_id).toBe(id);
    expect(byName?.artifact_location).toBe(`mlflow-artifacts:/workspaces/default/${id}`);
  });

  it("answers null for an unknown name and NOT_FOUND for an unknown id", async () => {
    expect(await client.getExperimentByName(uniqueName("missing"))).toBeNull();
    const err = await rejectionOf(client.getExperiment("987654321"));
    expect(err).toBeInstanceOf(MlflowNotFoundError);
    expect((err as MlflowNotFoundError).code).toBe("NOT_FOUND");
    expect((err as MlflowNotFoundError).errorCode).toBe("RESOURCE_DOES_NOT_EXIST");
  });

  it("maps a duplicate name to CONFLICT", async () => {
    const name = uniqueName("dup");
    await client.createExperiment(name);
    const err = await rejectionOf(client.createExperiment(name));
    expect(err).toBeInstanceOf(MlflowConflictError);
    expect((err as MlflowConflictError).errorCode).toBe("RESOURCE_ALREADY_EXISTS");
  });

  it("getOrCreate returns the existing experiment and survives a creation race", async () => {
    const name = uniqueName("race");
    const results = await Promise.all(Array.from({ length: 5 }, () => client.getOrCreateExperiment(name, { k: "v" })));
    const ids = new Set(results.map((e) => e.experiment_id));
    expect(ids.size).toBe(1);
    const again = await client.getOrCreateExperiment(name);
    expect(ids.has(again.experiment_id)).toBe(true);
  });

  it("getOrCreate refuses a name held by a deleted experiment", async () => {
    const name = uniqueName("gone");
    const id = await client.createExperiment(name);
    await client.deleteExperiment(id);
    const err = await rejectionOf(client.getOrCreateExperiment(name));
    expect(err).toBeInstanceOf(MlflowConflictError);
    expect((err as Error).message).toContain("deleted");
  });

  it("counts active and deleted experiments", async () => {
    const prefix = uniqueName("count");
    const filter = `name LIKE '${prefix}-%'`;
    const ids = await Promise.all([1, 2, 3].map((i) => client.createExperiment(`${prefix}-${i}`)));
    await client.deleteExperiment(ids[0] as string);

    expect(await client.countExperiments("ACTIVE_ONLY", filter)).toBe(2);
    expect(await client.countExperiments("DELETED_ONLY", filter)).toBe(1);
    expect(await client.countExperiments("ALL", filter)).toBe(3);
    const deleted = await client.getExperiment(ids[0] as string);
    expect(deleted.lifecycle_stage).toBe("deleted");
    expect(await client.countExperiments()).toBeGreaterThanOrEqual(2);
    expect(await client.countExperiments("DELETED_ONLY")).toBeGreaterThanOrEqual(1);
  });

  it("pages through a search", async () => {
    const prefix = uniqueName("page");
    for (const i of [1, 2, 3, 4, 5]) await client.createExperiment(`${prefix}-${i}`);
    const names: string[] = [];
    let pageToken: string | undefined;
    let pages = 0;
    do {
      const page = await client.searchExperiments({
        filter: `name LIKE '${prefix}-%'`,
        maxResults: 2,
        orderBy: ["name ASC"],
        pageToken,
      });
      expect(page.experiments.length).toBeLessThanOrEqual(2);
      names.push(...page.experiments.map((e) => e.name));
      pageToken = page.nextPageToken ?? undefined;
      pages++;
    } while (pageToken);
    expect(pages).toBe(3);
    expect(names).toEqual([1, 2, 3, 4, 5].map((i) => `${prefix}-${i}`));
  });

  it("deleting an experiment twice is NOT_FOUND the second time", async () => {
    const id = await client.createExperiment(uniqueName("del"));
    await client.deleteExperiment(id);
    await expect(client.deleteExperiment(id)).rejects.toBeInstanceOf(MlflowNotFoundError);
  });
});
