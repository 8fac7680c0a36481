import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MlflowError, MlflowNotFoundError, MlflowValidationError, type Run } from "../src/index.js";
import { rejectionOf, testClient, uniqueName } from "./helpers.js";

const client = testClient();
let run: Run;
beforeAll(async () => {
  const experimentId = await client.createExperiment(uniqueName("artifacts"));
  run = await client.createRun({ experimentId });
});
afterAll(() => client.close());

describe("proxied artifacts", () => {
  it("uploads, lists and downloads files by URI and by path", async () => {
    const root = run.info.artifact_uri;
    const bytes = Uint8Array.from([0, 1, 2, 250, 255]);
    await client.uploadArtifact(`${root}/model/weights.bin`, bytes);
    await client.uploadArtifact(`${root}/model/MLmodel`, "flavors: {}\n");
    await client.uploadArtifact(`${root}/notes with space.txt`, "hi");

    const top = await client.listArtifacts(root);
    expect(top.map((f) => [f.path, f.is_dir]).sort()).toEqual([
      ["model", true],
      ["notes with space.txt", false],
    ]);
    const model = await client.listArtifacts(`${root}/model`);
    expect(model.find((f) => f.path === "weights.bin")?.file_size).toBe(5);

    const run2 = await client.listRunArtifacts(run.info.run_id, "model");
    expect(run2.rootUri).toBe(root);
    expect(run2.files.map((f) => f.path).sort()).toEqual(["model/MLmodel", "model/weights.bin"]);

    expect([...(await client.downloadArtifact(`${root}/model/weights.bin`))]).toEqual([0, 1, 2, 250, 255]);
    const relative = root.replace("mlflow-artifacts:/", "");
    expect((await client.downloadArtifact(`${relative}/notes with space.txt`)).toString()).toBe("hi");
  });

  it("lists a missing directory as empty and downloads a missing file as NOT_FOUND", async () => {
    expect(await client.listArtifacts(`${run.info.artifact_uri}/nothing-here`)).toEqual([]);
    const err = await rejectionOf(client.downloadArtifact(`${run.info.artifact_uri}/nothing-here.txt`));
    expect(err).toBeInstanceOf(MlflowNotFoundError);
  });

  it("refuses a download above maxBytes and paths outside the proxy", async () => {
    await client.uploadArtifact(`${run.info.artifact_uri}/big.txt`, "x".repeat(4096));
    const err = await rejectionOf(client.downloadArtifact(`${run.info.artifact_uri}/big.txt`, { maxBytes: 1024 }));
    expect(err).toBeInstanceOf(MlflowError);
    expect((err as MlflowError).code).toBe("PAYLOAD_TOO_LARGE");
    // The pool survives the aborted body.
    expect((await client.downloadArtifact(`${run.info.artifact_uri}/big.txt`)).length).toBe(4096);
    await expect(client.downloadArtifact("s3://bucket/key")).rejects.toBeInstanceOf(MlflowValidationError);
    await expect(client.uploadArtifact("1/../../escape.txt", "x")).rejects.toBeInstanceOf(MlflowValidationError);
  });
});
