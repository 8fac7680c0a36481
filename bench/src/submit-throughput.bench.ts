import { LOAD_GENERATOR, load, type LoadResult } from "./load.js";
import { startBenchPlatform } from "./platform.js";
import { writeResult } from "./results.js";
import { repeat, round, spreadOf } from "./spread.js";

/**
 * Uploads accepted per second through the gateway, with no runner pulling (runners paused):
 * every accepted upload is a stored job and a published event. On PostgreSQL (headline)
 * and on the embedded database.
 */
const TARGET = 500;
const RUNS = 3;
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

/** RUNS measurements on one platform (the queue keeps growing between them, as it would in use). */
async function measure(databaseUrl: string | null): Promise<LoadResult[]> {
  const platform = await startBenchPlatform({
    services: ["job-scheduler", "gateway"],
    databaseUrl,
    // The queue grows to tens of thousands of jobs in one tenant: past any per-tenant limit.
    env: { LOG_LEVEL: "warn", MAX_ACTIVE_JOBS_PER_TENANT: "0" },
  });
  try {
    const url = `${platform.api}/mlops/training/upload`;
    const headers = { "content-type": "application/json" };
    await load({ url, connections: CONNECTIONS, durationSeconds: 3, method: "POST", body, headers });
    return await repeat(RUNS, () => load({ url, connections: CONNECTIONS, durationSeconds: SECONDS, method: "POST", body, headers }));
  } finally {
    await platform.stop();
  }
}

export async function run(): Promise<void> {
  const { createScratchDatabase } = await import("@asgard/test-support");
  const base = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const scratch = await createScratchDatabase(base, "asgard_bench");
  let postgres: LoadResult[];
  try {
    postgres = await measure(scratch.url);
  } finally {
    await scratch.drop();
  }
  const embedded = await measure(null);
  const rps = (runs: LoadResult[]) => spreadOf(runs, (r) => r.rps, 1);
  const summary = (runs: LoadResult[]) => ({
    rps: rps(runs),
    p99_ms: spreadOf(runs, (r) => r.p99_ms),
    failed: runs.reduce((n, r) => n + r.errors + r.non2xx, 0),
    runs,
  });
  const ours = rps(postgres);
  const file = await writeResult({
    name: "submit-throughput",
    ours: ours.median,
    baseline: TARGET,
    ratio: round(ours.median / TARGET),
    unit: "uploads accepted per second (202), PostgreSQL",
    runs: RUNS,
    ours_spread: ours,
    baseline_spread: { median: TARGET, min: TARGET, max: TARGET, runs: postgres.map(() => TARGET) },
    notes:
      `${RUNS} runs of ${SECONDS} s each after a 3 s warm-up, ${CONNECTIONS} connections each sending its next upload when the last is answered; no runner pulls (the queue only grows, so the per-tenant job limit is off: MAX_ACTIVE_JOBS_PER_TENANT=0). ` +
      "Each upload is validated, its script stored content-addressed, the job inserted and training.submitted published before the 202. " +
      "Gateway and job-scheduler are one process each on this 2-core machine. The headline is PostgreSQL (the production store); the embedded database is reported beside it. " +
      "The baseline is the 500/s target, not a system.",
    load_generator: { ...LOAD_GENERATOR, connections: CONNECTIONS, seconds: SECONDS },
    postgres: summary(postgres),
    embedded: summary(embedded),
  });
  console.log(`submit-throughput: PostgreSQL ${ours.median}/s (${ours.min}–${ours.max}); embedded ${rps(embedded).median}/s -> ${file}`);
}
