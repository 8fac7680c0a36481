import type { ManagedProcess } from "@asgard/infra";
import { startBenchPlatform, submit, waitForTerminal, type BenchPlatform } from "./platform.js";
import { writeResult } from "./results.js";
import { repeat, round, spread, type Spread } from "./spread.js";

/**
 * Jobs completed per minute with 1, 2 and 4 runner replicas (one slot each), on an I/O-bound
 * job (sleep) and a CPU-bound one (a pure-Python loop), each batch submitted at once.
 */
const JOBS = 8;
const RUNS = 3;
const IO_SCRIPT = "import time\ntime.sleep(5)\nprint('slept')\n";
// A fixed amount of work (about 3 s on one core here), so concurrent jobs compete for the cores.
const CPU_SCRIPT = "total = sum(i * i for i in range(40_000_000))\nprint('computed', total % 97)\n";

async function batch(platform: BenchPlatform, script: string, label: string): Promise<number> {
  const started = Date.now();
  const jobs = await Promise.all(
    Array.from({ length: JOBS }, (_, i) =>
      submit(platform.api, {
        script_name: `${label}-${i}.py`,
        script_content: Buffer.from(script).toString("base64"),
        experiment_name: `bench-scaling-${label}`,
        model_name: "bench-scaling",
        timeout: 300,
      }),
    ),
  );
  const done = await Promise.all(jobs.map((j) => waitForTerminal(platform.api, j.job_id)));
  const failed = done.filter((j) => j.status !== "completed");
  if (failed.length > 0) throw new Error(`${failed.length} jobs did not complete: ${failed[0]?.logs}`);
  return round((JOBS / ((Date.now() - started) / 1000)) * 60);
}

export async function run(): Promise<void> {
  const platform = await startBenchPlatform({
    services: ["job-scheduler", "registry", "gateway"],
    databaseUrl: process.env.DATABASE_URL ?? null,
    env: { LOG_LEVEL: "warn", RUNNER_HEARTBEAT_MS: "1000" },
  });
  const runners: ManagedProcess[] = [];
  try {
    runners.push(platform.start("python-runner"));
    // Warm-up: the environment and the experiments exist before anything is timed.
    await batch(platform, "print('warm')\n", "io");
    await batch(platform, "print('warm')\n", "cpu");
    const io: Record<string, Spread> = {};
    const cpu: Record<string, Spread> = {};
    for (const replicas of [1, 2, 4]) {
      while (runners.length < replicas) runners.push(platform.start("python-runner"));
      // Let new replicas connect and pull before the batch is timed.
      await new Promise((r) => setTimeout(r, 3_000));
      io[replicas] = spread(await repeat(RUNS, () => batch(platform, IO_SCRIPT, "io")));
      cpu[replicas] = spread(await repeat(RUNS, () => batch(platform, CPU_SCRIPT, "cpu")));
      console.log(`runner-scaling: ${replicas} replica(s): I/O-bound ${io[replicas].median} jobs/min, CPU-bound ${cpu[replicas].median} jobs/min`);
    }
    const four = io[4]!;
    const one = io[1]!;
    const file = await writeResult({
      name: "runner-scaling",
      ours: four.median,
      baseline: one.median,
      ratio: round(four.median / one.median),
      unit: "jobs completed per minute (I/O-bound, 4 replicas vs 1, median of runs)",
      runs: RUNS,
      ours_spread: four,
      baseline_spread: one,
      notes:
        `${RUNS} batches per point; ${JOBS} jobs per batch submitted at once; each job sleeps 5 s (I/O-bound) or computes a fixed sum of 40 million squares ` +
        "(CPU-bound); one slot per replica, warm environment. The baseline is our own platform with one replica: this benchmark measures scaling, " +
        "not a comparison with a peer. On this 2-core machine the CPU-bound case cannot scale past 2 " +
        "replicas: 4 scripts share 2 cores (and the platform's own processes and MLflow use them too).",
      io_bound_jobs_per_minute: io,
      cpu_bound_jobs_per_minute: cpu,
    });
    console.log(`runner-scaling -> ${file}`);
  } finally {
    await platform.stop();
  }
}
