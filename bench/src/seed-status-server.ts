import Fastify from "fastify";
import { request } from "undici";

/**
 * The seed's approach to `GET /mlops/status`, kept only as the benchmark's baseline: every
 * request asks MLflow synchronously (health, then every active experiment, then every
 * registered model) before answering.
 */
const mlflow = process.env.MLFLOW_TRACKING_URI!;
const port = Number(process.env.PORT);

async function countPaged(path: string, body: Record<string, unknown>, key: string): Promise<number> {
  let count = 0;
  let token: string | undefined;
  do {
    const res = await request(`${mlflow}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...body, ...(token ? { page_token: token } : {}) }),
    });
    const json = (await res.body.json()) as Record<string, unknown>;
    count += Array.isArray(json[key]) ? (json[key] as unknown[]).length : 0;
    token = typeof json.next_page_token === "string" ? json.next_page_token : undefined;
  } while (token);
  return count;
}

const app = Fastify();
app.get("/mlops/status", async () => {
  let available = false;
  let experiments = 0;
  let models = 0;
  try {
    const health = await request(`${mlflow}/health`);
    await health.body.text();
    available = health.statusCode === 200;
    experiments = await countPaged("/api/2.0/mlflow/experiments/search", { max_results: 1000, view_type: "ACTIVE_ONLY" }, "experiments");
    models = await countPaged("/api/2.0/mlflow/registered-models/search", { max_results: 1000 }, "registered_models");
  } catch {
    available = false;
  }
  return {
    mlflow_tracking_uri: mlflow,
    mlflow_available: available,
    feast_store_available: false,
    registered_models: models,
    active_experiments: experiments,
    feature_views: 0,
  };
});
await app.listen({ port, host: "127.0.0.1" });
