import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  MlflowConflictError,
  MlflowNotFoundError,
  MlflowValidationError,
  tagsToRecord,
  type Run,
} from "../src/index.js";
import { rejectionOf, testClient, uniqueName } from "./helpers.js";

const client = testClient();
let experimentId = "";
let run: Run;

beforeAll(async () => {
  experimentId = await client.createExperiment(uniqueName("registry"));
  run = await client.createRun({ experimentId });
});
afterAll(() => client.close());

describe("registered models", () => {
  it("creates, reads, updates, tags and deletes a model", async () => {
    const name = uniqueName("model");
    const created = await client.createRegisteredModel(name, { description: "first", tags: { team: "a" } });
    expect(created.name).toBe(name);
    expect(created.description).toBe("first");
    expect(created.latest_versions).toEqual([]);

    const updated = await client.updateRegisteredModel(name, { description: "second" });
    expect(updated.description).toBe("second");
    await client.setRegisteredModelTag(name, "tier", "gold");
    const got = await client.getRegisteredModel(name);
    expect(tagsToRecord(got.tags)).toEqual({ team: "a", tier: "gold" });
    expect(typeof got.creation_timestamp).toBe("number");

    await client.deleteRegisteredModel(name);
    expect(await client.findRegisteredModel(name)).toBeNull();
    await expect(client.getRegisteredModel(name)).rejects.toBeInstanceOf(MlflowNotFoundError);
  });

  it("maps a duplicate to CONFLICT and an invalid name to VALIDATION_FAILED", async () => {
    const name = uniqueName("dup");
    await client.createRegisteredModel(name);
    const dup = await rejectionOf(client.createRegisteredModel(name));
    expect(dup).toBeInstanceOf(MlflowConflictError);
    expect((dup as MlflowConflictError).code).toBe("CONFLICT");

    const invalid = await rejectionOf(client.createRegisteredModel(`${uniqueName("bad")}/slash`));
    expect(invalid).toBeInstanceOf(MlflowValidationError);
    expect((invalid as MlflowValidationError).code).toBe("VALIDATION_FAILED");
    expect((invalid as Error).message).toContain("Invalid model name");
  });

  it("pages through a search of more than one page and counts", async () => {
    const prefix = uniqueName("paged");
    for (const i of [1, 2, 3, 4, 5]) await client.createRegisteredModel(`${prefix}-${i}`);
    const filter = `name LIKE '${prefix}-%'`;
    const names: string[] = [];
    let pageToken: string | undefined;
    let pages = 0;
    do {
      const page = await client.searchRegisteredModels({ filter, maxResults: 2, orderBy: ["name DESC"], pageToken });
      expect(page.registeredModels.length).toBeLessThanOrEqual(2);
      names.push(...page.registeredModels.map((m) => m.name));
      pageToken = page.nextPageToken ?? undefined;
      pages++;
    } while (pageToken);
    expect(pages).toBe(3);
    expect(names).toEqual([5, 4, 3, 2, 1].map((i) => `${prefix}-${i}`));
    expect(await client.countRegisteredModels(filter)).toBe(5);
    expect(await client.countRegisteredModels()).toBeGreaterThanOrEqual(5);
  });
});

describe("model versions", () => {
  it("registers a version from a run source and waits until READY", async () => {
    const name = uniqueName("from-run");
    await client.createRegisteredModel(name);
    const source = `runs:/${run.info.run_id}/model`;
    const mv = await client.createModelVersion({
      name,
      source,
      runId: run.info.run_id,
      description: "v1",
      tags: { origin: "test" },
    });
    expect(mv.version).toBe("1");
    expect(["PENDING_REGISTRATION", "READY"]).toContain(mv.status);

    const ready = await client.waitForModelVersionReady(name, mv.version, { timeoutMs: 30_000, intervalMs: 100 });
    expect(ready.status).toBe("READY");
    expect(ready.source).toBe(source);
    expect(ready.run_id).toBe(run.info.run_id);
    expect(tagsToRecord(ready.tags)).toEqual({ origin: "test" });

    const model = await client.getRegisteredModel(name);
    expect(model.latest_versions.map((v) => v.version)).toEqual(["1"]);
  });

  it("registers a version from the run's artifact URI", async () => {
    const name = uniqueName("from-uri");
    await client.createRegisteredModel(name);
    const mv = await client.createModelVersion({ name, source: `${run.info.artifact_uri}/model`, runId: run.info.run_id });
    expect((await client.waitForModelVersionReady(name, mv.version)).status).toBe("READY");
  });

  it("refuses a runs:/ source without the matching run id", async () => {
    const name = uniqueName("no-run-id");
    await client.createRegisteredModel(name);
    const err = await rejectionOf(client.createModelVersion({ name, source: `runs:/${run.info.run_id}/model` }));
    expect(err).toBeInstanceOf(MlflowValidationError);
  });

  it("tags, searches, updates and deletes versions", async () => {
    const name = uniqueName("versions");
    await client.createRegisteredModel(name);
    for (let i = 0; i < 3; i++) {
      await client.createModelVersion({ name, source: `runs:/${run.info.run_id}/model`, runId: run.info.run_id });
    }
    await client.setModelVersionTag(name, 2, "validated", "yes");
    const updated = await client.updateModelVersion(name, "2", { description: "the good one" });
    expect(updated.description).toBe("the good one");

    const versions: string[] = [];
    let pageToken: string | undefined;
    do {
      const page = await client.searchModelVersions({ filter: `name = '${name}'`, maxResults: 2, pageToken });
      versions.push(...page.modelVersions.map((v) => v.version));
      pageToken = page.nextPageToken ?? undefined;
    } while (pageToken);
    expect(versions.sort()).toEqual(["1", "2", "3"]);

    const v2 = await client.getModelVersion(name, 2);
    expect(tagsToRecord(v2.tags)).toEqual({ validated: "yes" });

    await client.deleteModelVersion(name, 3);
    await expect(client.getModelVersion(name, 3)).rejects.toBeInstanceOf(MlflowNotFoundError);
    await expect(client.waitForModelVersionReady(name, 3, { timeoutMs: 5_000 })).rejects.toBeInstanceOf(MlflowNotFoundError);
  });
});

describe("aliases", () => {
  it("sets, moves, reads and deletes an alias", async () => {
    const name = uniqueName("alias");
    await client.createRegisteredModel(name);
    for (let i = 0; i < 2; i++) {
      await client.createModelVersion({ name, source: `runs:/${run.info.run_id}/model`, runId: run.info.run_id });
    }

    await client.setAlias(name, "champion", 1);
    expect((await client.getModelVersionByAlias(name, "champion")).version).toBe("1");

    await client.setAlias(name, "champion", "2");
    const moved = await client.getModelVersionByAlias(name, "champion");
    expect(moved.version).toBe("2");
    expect(moved.aliases).toEqual(["champion"]);
    expect((await client.getModelVersion(name, 1)).aliases).toEqual([]);
    expect((await client.getRegisteredModel(name)).aliases).toEqual([{ alias: "champion", version: "2" }]);

    await client.deleteAlias(name, "champion");
    const missing = await rejectionOf(client.getModelVersionByAlias(name, "champion"));
    expect(missing).toBeInstanceOf(MlflowNotFoundError);
    expect((missing as MlflowNotFoundError).code).toBe("NOT_FOUND");
    expect(await client.findModelVersionByAlias(name, "champion")).toBeNull();
    // MLflow treats deleting a missing alias as done.
    await client.deleteAlias(name, "champion");
  });

  it("refuses reserved aliases and unknown versions", async () => {
    const name = uniqueName("alias-bad");
    await client.createRegisteredModel(name);
    await client.createModelVersion({ name, source: `runs:/${run.info.run_id}/model`, runId: run.info.run_id });
    await expect(client.setAlias(name, "latest", 1)).rejects.toBeInstanceOf(MlflowValidationError);
    await expect(client.setAlias(name, "champion", 99)).rejects.toBeInstanceOf(MlflowNotFoundError);
    expect(await client.findModelVersionByAlias(uniqueName("no-such-model"), "champion")).toBeNull();
  });
});
