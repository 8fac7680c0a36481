import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMlflowServer, startNatsServer, spawnManaged } from "@asgard/infra";
import { createMlflowClient } from "@asgard/mlflow";
import { FROM_SOURCES } from "@asgard/test-support";
import { LOAD_GENERATOR, load, type LoadResult } from "./load.js";
import { freePort, scratchMlflowOptions, startService, waitFor } from "./platform.js";
import { writeResult } from "./results.js";
import { round, spread, spreadOf } from "./spread.js";

/**
 * GET /mlops/status: ours (answered from the gateway's memory) against the seed's approach
 * (MLflow queried on every request), same load generator, same offered rate — and ours again
 * with MLflow stopped; five runs of each.
 */
const RUNS = 5;
const RATE = 1_000;
const SECONDS = 10;
const UNTHROTTLED_SECONDS = 5;
const CONNECTIONS = 20;
// The default probe interval: what a deployment runs.
const INTERVAL_MS = 3_000;

export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "asgard-bench-status-"));
  const stops: Array<() => Promise<void>> = [];
  try {
    const nats = await startNatsServer({ storeDir: join(dir, "nats") });
    stops.push(() => nats.stop());
    const mlflowOptions = scratchMlflowOptions(dir);
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
      args: [...FROM_SOURCES, join(process.cwd(), "bench", "src", "seed-status-server.ts")],
      env: { ...process.env, MLFLOW_TRACKING_URI: mlflow.url, PORT: String(seedPort) },
      logFile: join(dir, "seed.log"),
    });
    stops.push(() => seed.stop());
    const baselineUrl = `http://127.0.0.1:${seedPort}/mlops/status`;
    await waitFor(baselineUrl, (r) => r.ok);

    const run = (url: string, rate?: number) => load({ url, connections: CONNECTIONS, durationSeconds: SECONDS, rate });
    const available = (want: boolean, tries?: number) =>
      waitFor(ours, async (r) => r.ok && ((await r.json()) as { mlflow_available: boolean }).mlflow_available === want, tries);
    // Warm-up: lets V8 optimise the hot path before anything is measured.
    await load({ url: ours, connections: CONNECTIONS, durationSeconds: 5 });
    await load({ url: baselineUrl, connections: 4, durationSeconds: 2 });

    const up: LoadResult[] = [];
    const down: LoadResult[] = [];
    const unthrottled: LoadResult[] = [];
    const baseline: LoadResult[] = [];
    const flip: number[] = [];
    const flipAfterExit: number[] = [];
    const recover: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      up.push(await run(ours, RATE));
      baseline.push(await run(baselineUrl, RATE));
      unthrottled.push(await load({ url: ours, connections: CONNECTIONS, durationSeconds: UNTHROTTLED_SECONDS }));
      // The baseline's load can make a probe time out; measure the flip from a known "available".
      await available(true, 1_000);
      const stoppedAt = Date.now();
      await mlflow.stop();
      const exitedAt = Date.now();
      await available(false, 1_000);
      flip.push(Date.now() - stoppedAt);
      flipAfterExit.push(Date.now() - exitedAt);
      down.push(await run(ours, RATE));
      mlflow = await startMlflowServer({ ...mlflowOptions, port: mlflow.port });
      const restartedAt = Date.now();
      await available(true, 1_000);
      recover.push(Date.now() - restartedAt);
      console.log(`status run ${i + 1}/${RUNS}: p99 up ${up.at(-1)!.p99_ms} ms, stopped ${down.at(-1)!.p99_ms} ms, seed ${baseline.at(-1)!.p99_ms} ms`);
    }

    const p99 = (runs: LoadResult[]) => spreadOf(runs, (r) => r.p99_ms);
    // The headline is the worse of the two loads (MLflow up, MLflow stopped), by median p99.
    const worst = p99(up).median >= p99(down).median ? { load: "MLflow up", spread: p99(up) } : { load: "MLflow stopped", spread: p99(down) };
    const baselineP99 = p99(baseline);
    const summary = (runs: LoadResult[]) => ({
      p50_ms: spreadOf(runs, (r) => r.p50_ms),
      p99_ms: p99(runs),
      max_ms: spreadOf(runs, (r) => r.max_ms),
      rps: spreadOf(runs, (r) => r.rps, 1),
      errors: runs.reduce((n, r) => n + r.errors + r.non2xx, 0),
      missed: runs.reduce((n, r) => n + (r.missed ?? 0), 0),
      runs,
    });
    const file = await writeResult({
      name: "status",
      ours: worst.spread.median,
      baseline: baselineP99.median,
      ratio: round(baselineP99.median / Math.max(worst.spread.median, 0.001)),
      unit: "ms (p99 latency of GET /mlops/status, median of runs)",
      runs: RUNS,
      ours_spread: worst.spread,
      baseline_spread: baselineP99,
      notes:
        `${RUNS} runs; each offers ${RATE} req/s for ${SECONDS} s over ${CONNECTIONS} keep-alive connections (open loop, at most one request in flight per connection; a request due while all are busy is counted as missed) to ours with MLflow up, ` +
        `to the seed's approach (MLflow queried per request) with MLflow up, then ${UNTHROTTLED_SECONDS} s unthrottled to ours, then MLflow is stopped and ours measured again. ` +
        `Headline: the worse of ours' two loads (${worst.load}). Gateway, status and scheduler each in their own process; probe interval ${INTERVAL_MS} ms. ` +
        `flip_* times: from MLflow told to stop (or its process gone) to mlflow_available false, and from its restart to true; MLflow answers while it shuts down.`,
      load_generator: { ...LOAD_GENERATOR, connections: CONNECTIONS, rate_per_s: RATE, seconds: SECONDS, unthrottled_seconds: UNTHROTTLED_SECONDS },
      ours_mlflow_up: summary(up),
      ours_mlflow_stopped: summary(down),
      ours_unthrottled: summary(unthrottled),
      baseline_mlflow_up: summary(baseline),
      flip_to_unavailable_ms: spread(flip, 0),
      flip_after_process_exit_ms: spread(flipAfterExit, 0),
      flip_to_available_ms: spread(recover, 0),
      probe_interval_ms: INTERVAL_MS,
    });
    console.log(`status: ours p99 ${worst.spread.median} ms (${worst.load}; ${worst.spread.min}–${worst.spread.max}), seed approach ${baselineP99.median} ms -> ${file}`);
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}
