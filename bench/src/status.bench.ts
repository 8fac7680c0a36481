import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMlflowServer, startNatsServer, spawnManaged } from "@asgard/infra";
import { createMlflowClient } from "@asgard/mlflow";
import { load, round, type LoadResult } from "./load.js";
import { freePort, startService, waitFor } from "./platform.js";
import { writeResult } from "./results.js";

/**
 * GET /mlops/status: ours (answered from the gateway's memory) against the seed's approach
 * (MLflow queried on every request), same load generator, same offered rate, one run —
 * then ours again with MLflow stopped.
 */
const RATE = 1_000;
const SECONDS = 10;
const CONNECTIONS = 20;
// The default probe interval: what a deployment runs.
const INTERVAL_MS = 3_000;

export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "asgard-bench-status-"));
  const stops: Array<() => Promise<void>> = [];
  try {
    const nats = await startNatsServer({ storeDir: join(dir, "nats") });
    stops.push(() => nats.stop());
    const mlflowOptions = {
      backendStoreUri: `sqlite:///${join(dir, "mlflow", "mlflow.db")}`,
      artifactsDestination: join(dir, "mlflow", "artifacts"),
      logFile: join(dir, "mlflow.log"),
    };
    let mlflow = await startMlflowServer(mlflowOptions);
    stops.push(() => mlflow.stop());
    const client = createMlflowClient({ baseUrl: mlflow.url });
    // Roughly the seed's registry: a handful of experiments and models to count.
    for (let i = 0; i < 6; i++) await client.createExperiment(`bench-exp-${i}`);
    for (let i = 0; i < 5; i++) await client.createRegisteredModel(`bench-model-${i}`);
    await client.close();

    const port = await freePort();
    const env = {
      NATS_URL: nats.url,
      MLFLOW_TRACKING_URI: mlflow.url,
      PORT: String(port),
      ASGARD_DATA_DIR: dir,
      STATUS_INTERVAL_MS: String(INTERVAL_MS),
      STATUS_PROBE_TIMEOUT_MS: "2000",
    };
    for (const name of ["job-scheduler", "status", "gateway"]) {
      const proc = startService(name, env, dir);
      stops.push(() => proc.stop());
    }
    const ours = `http://127.0.0.1:${port}/mlops/status`;
    await waitFor(ours, async (r) => r.ok && ((await r.json()) as { mlflow_available: boolean }).mlflow_available === true);

    const seedPort = await freePort();
    const seed = spawnManaged({
      name: "seed-status",
      command: process.execPath,
      args: ["--import", "tsx", join(process.cwd(), "bench", "src", "seed-status-server.ts")],
      env: { ...process.env, MLFLOW_TRACKING_URI: mlflow.url, PORT: String(seedPort) },
      logFile: join(dir, "seed.log"),
    });
    stops.push(() => seed.stop());
    const baselineUrl = `http://127.0.0.1:${seedPort}/mlops/status`;
    await waitFor(baselineUrl, (r) => r.ok);

    const run = (url: string, rate?: number) => load({ url, connections: CONNECTIONS, durationSeconds: SECONDS, rate });
    // Warm-up: lets V8 optimise the hot path before anything is measured.
    await load({ url: ours, connections: CONNECTIONS, durationSeconds: 5 });
    const oursUp = await run(ours, RATE);
    const oursMax = await run(ours);
    await load({ url: baselineUrl, connections: 4, durationSeconds: 2 }); // warm-up
    const baselineUp = await run(baselineUrl, RATE);

    // The baseline's load can make a probe time out; measure the flip from a known "available".
    await waitFor(ours, async (r) => r.ok && ((await r.json()) as { mlflow_available: boolean }).mlflow_available, 1_000);
    const stoppedAt = Date.now();
    await mlflow.stop();
    const exitedAt = Date.now();
    await waitFor(ours, async (r) => r.ok && ((await r.json()) as { mlflow_available: boolean }).mlflow_available === false, 1_000);
    const flipMs = Date.now() - stoppedAt;
    const flipAfterExitMs = Date.now() - exitedAt;
    const oursDown = await run(ours, RATE);

    mlflow = await startMlflowServer({ ...mlflowOptions, port: mlflow.port });
    const restartedAt = Date.now();
    await waitFor(ours, async (r) => r.ok && ((await r.json()) as { mlflow_available: boolean }).mlflow_available === true, 1_000);
    const recoverMs = Date.now() - restartedAt;

    const worst = Math.max(oursUp.p99_ms, oursDown.p99_ms);
    const table = (r: LoadResult) => `${r.rps} req/s, p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, errors ${r.errors + r.non2xx}`;
    const file = await writeResult({
      name: "status",
      ours: worst,
      baseline: baselineUp.p99_ms,
      ratio: round(baselineUp.p99_ms / Math.max(worst, 0.01)),
      unit: "ms (p99 latency of GET /mlops/status)",
      notes:
        `autocannon on loopback, ${CONNECTIONS} connections, offered ${RATE} req/s for ${SECONDS} s each. ` +
        `ours = worse p99 of MLflow up / stopped; baseline = the seed's approach (MLflow queried per request) with MLflow up. ` +
        `Gateway, status and scheduler each in their own process; probe interval ${INTERVAL_MS} ms. ` +
        `mlflow_available turned false ${flipMs} ms after MLflow was told to stop (${flipAfterExitMs} ms after its process exited; MLflow answers while it shuts down) and true ${recoverMs} ms after it answered again. ` +
        `autocannon reports whole milliseconds.`,
      ours_mlflow_up: oursUp,
      ours_mlflow_stopped: oursDown,
      ours_unthrottled: oursMax,
      baseline_mlflow_up: baselineUp,
      flip_to_unavailable_ms: flipMs,
      flip_after_process_exit_ms: flipAfterExitMs,
      flip_to_available_ms: recoverMs,
      probe_interval_ms: INTERVAL_MS,
    });
    console.log(`status: ours (MLflow up)      ${table(oursUp)}`);
    console.log(`status: ours (MLflow stopped) ${table(oursDown)}`);
    console.log(`status: ours (unthrottled)    ${table(oursMax)}`);
    console.log(`status: seed approach         ${table(baselineUp)}`);
    console.log(`status: flip ${flipMs} ms, recover ${recoverMs} ms -> ${file}`);
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}
