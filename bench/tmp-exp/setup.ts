import { join } from "node:path";
import { startNatsServer } from "@asgard/infra";
import { createMlflowClient } from "@asgard/mlflow";
import { startService } from "../src/platform.js";

const mlflowUrl = "http://127.0.0.1:5077";
const client = createMlflowClient({ baseUrl: mlflowUrl, timeoutMs: 30_000 });
if (process.argv[2] === "fill") {
  const experimentId = await client.createExperiment(`exp-${Date.now()}`);
  const { info } = await client.createRun({ experimentId });
  const model = await client.createLoggedModel({ experimentId, name: "model", sourceRunId: info.run_id });
  await client.uploadArtifact(`${model.info.artifact_uri}/MLmodel`, "artifact_path: model\nflavors: {}\n");
  await client.finalizeLoggedModel(model.info.model_id);
  const names = Array.from({ length: 200 }, (_, i) => `bench-model-${String(i).padStart(3, "0")}`);
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < names.length) {
      const name = names[next++]!;
      await client.createRegisteredModel(name, { description: `model ${name}`, tags: { team: "bench" } });
      for (let v = 0; v < 5; v++) await client.createModelVersion({ name, source: `models:/${model.info.model_id}`, runId: info.run_id, modelId: model.info.model_id, tags: { n: String(v + 1) } });
      await client.setAlias(name, "champion", "5");
    }
  }));
  console.log("filled");
  process.exit(0);
}
const dir = "/tmp/regexp/run";
const nats = await startNatsServer({ storeDir: join(dir, "nats") });
const env = { NATS_URL: nats.url, MLFLOW_TRACKING_URI: mlflowUrl, PORT: "18080" };
const procs = ["registry", "gateway"].map((n) => startService(n, env, dir));
console.log("started", nats.url);
process.on("SIGTERM", async () => { for (const p of procs) await p.stop(); await nats.stop(); process.exit(0); });
setInterval(() => {}, 1000);
