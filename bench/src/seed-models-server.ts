import Fastify from "fastify";
import { request } from "undici";

/**
 * The seed's approach to `GET /mlops/models`, kept only as the benchmark's baseline: every
 * request lists the registered models from MLflow, then asks MLflow for each model's details
 * (one call per model, in series) and builds the answer.
 */
const mlflow = process.env.MLFLOW_TRACKING_URI!;
const port = Number(process.env.PORT);

type Json = Record<string, unknown>;

async function get(path: string, query: Record<string, string>): Promise<Json> {
  const res = await request(`${mlflow}${path}?${new URLSearchParams(query).toString()}`);
  return (await res.body.json()) as Json;
}

const iso = (ms: unknown) => new Date(Number(ms ?? 0)).toISOString();
const tags = (list: unknown) => Object.fromEntries(((list as Array<{ key: string; value: string }>) ?? []).map((t) => [t.key, t.value]));

const app = Fastify();
app.get("/mlops/models", async () => {
  const names: string[] = [];
  let token: string | undefined;
  do {
    const page = await get("/api/2.0/mlflow/registered-models/search", { max_results: "1000", ...(token ? { page_token: token } : {}) });
    for (const m of (page.registered_models as Json[] | undefined) ?? []) names.push(String(m.name));
    token = typeof page.next_page_token === "string" && page.next_page_token ? page.next_page_token : undefined;
  } while (token);
  const models = [];
  for (const name of names) {
    const { registered_model: rm } = (await get("/api/2.0/mlflow/registered-models/get", { name })) as { registered_model: Json };
    models.push({
      name: rm.name,
      description: rm.description ?? null,
      tags: tags(rm.tags),
      latest_versions: ((rm.latest_versions as Json[] | undefined) ?? []).map((v) => ({
        name: v.name,
        version: v.version,
        stage: v.current_stage,
        run_id: v.run_id ?? null,
        description: v.description ?? null,
        tags: tags(v.tags),
        created_at: iso(v.creation_timestamp),
        updated_at: iso(v.last_updated_timestamp),
      })),
      created_at: iso(rm.creation_timestamp),
      updated_at: iso(rm.last_updated_timestamp),
    });
  }
  return models;
});
await app.listen({ port, host: "127.0.0.1" });
