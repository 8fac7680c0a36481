import { load, round, type LoadResult } from "./load.js";
import { startBenchPlatform } from "./platform.js";
import { writeResult } from "./results.js";

/**
 * Uploads accepted per second through the gateway, with no runner pulling (runners paused):
 * every accepted upload is a stored job and a published event. On PostgreSQL (headline)
 * and on the embedded database.
 */
const TARGET = 500;
const SECONDS = 10;
const CONNECTIONS = 32;

const body = JSON.stringify({
  script_name: "train.py",
  script_content: Buffer.from("import mlflow\nprint('hello')\n").toString("base64"),
  experiment_name: "bench-submit",
  model_name: "bench-submit",
  requirements: ["scikit-learn", "pandas"],
  timeout: 300,
});

async function measure(databaseUrl: string | null): Promise<LoadResult> {
  const platform = await startBenchPlatform({
    services: ["job-scheduler", "gateway"],
    databaseUrl,
    env: { LOG_LEVEL: "warn" },
  });
  try {
    const url = `${platform.api}/mlops/training/upload`;
    const headers = { "content-type": "application/json" };
    await load({ url, connections: CONNECTIONS, durationSeconds: 3, method: "POST", body, headers });
    return await load({ url, connections: CONNECTIONS, durationSeconds: SECONDS, method: "POST", body, headers });
  } finally {
    await platform.stop();
  }
}

export async function run(): Promise<void> {
  const { createScratchDatabase } = await import("../../test/harness/postgres.js");
  const base = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const scratch = await createScratchDatabase(base, "asgard_bench");
  let postgres: LoadResult;
  try {
    postgres = await measure(scratch.url);
  } finally {
    await scratch.drop();
  }
  const embedded = await measure(null);
  const file = await writeResult({
    name: "submit-throughput",
    ours: postgres.rps,
    baseline: TARGET,
    ratio: round(postgres.rps / TARGET),
    unit: "uploads accepted per second (202), PostgreSQL",
    notes:
      `autocannon, ${CONNECTIONS} connections, ${SECONDS} s after a 3 s warm-up; no runner pulls (queue only grows). ` +
      "Each upload is validated, its script stored content-addressed, the job inserted and training.submitted published before the 202. " +
      "Gateway and job-scheduler are one process each on this 2-core machine. The baseline is the 500/s target.",
    postgres,
    embedded,
  });
  console.log(`submit-throughput: PostgreSQL ${postgres.rps}/s (p99 ${postgres.p99_ms} ms, non-2xx ${postgres.non2xx}); embedded ${embedded.rps}/s -> ${file}`);
}
