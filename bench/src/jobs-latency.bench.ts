import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { callJson } from "./http.js";
import { alternate, timeJob, warmUp, type BenchJob, type JobSide, type JobTiming } from "./job-side.js";
import { ourJobSide, startBenchPlatform, type JobView } from "./platform.js";
import { rayJobSide, startRayHead, type RayHead } from "./ray.js";
import { loadNow, writeResult } from "./results.js";
import { percentile, repeat, round, spreadOf } from "./spread.js";

/**
 * Submit → running and submit → completed for a trivial job whose environment is warm, on
 * us and on Ray Jobs in the same run: jobs one after another, so queueing does not count.
 */
const RUNS = 3;
const JOBS_PER_RUN = 12;
const WARM_UP_JOBS = 2;
/** Each job's status is polled this long after the previous answer, on both sides. */
const POLL_MS = 20;
const RAY_CPUS = 2;
/** A small pure-Python package in the job's environment on both sides (Ray: runtime_env pip). */
const JOB: BenchJob = { script: 'import tabulate\n\nprint(tabulate.tabulate([["job", "ok"]]))\n', requirements: ["tabulate==0.9.0"] };

interface SideFigures {
  submit_to_running_p50_ms: number;
  submit_to_running_p99_ms: number;
  submit_to_completed_p50_ms: number;
  submit_to_completed_p99_ms: number;
}

async function sequence(side: JobSide): Promise<{ figures: SideFigures; ids: string[] }> {
  const jobs: JobTiming[] = [];
  for (let i = 0; i < JOBS_PER_RUN; i++) jobs.push(await timeJob(side, POLL_MS));
  const at = (pick: (j: JobTiming) => number, p: number) => round(percentile(jobs.map(pick), p), 1);
  return {
    figures: {
      submit_to_running_p50_ms: at((j) => j.running_ms, 50),
      submit_to_running_p99_ms: at((j) => j.running_ms, 99),
      submit_to_completed_p50_ms: at((j) => j.completed_ms, 50),
      submit_to_completed_p99_ms: at((j) => j.completed_ms, 99),
    },
    ids: jobs.map((j) => j.id),
  };
}

/** Created → claimed by a runner, from our own millisecond timestamps: the scheduler's part alone. */
async function claimP50(api: string, ids: string[]): Promise<number> {
  const jobs = await Promise.all(ids.map((id) => callJson<JobView>("GET", `${api}/mlops/training/jobs/${id}`)));
  return percentile(
    jobs.map((j) => Date.parse(j.started_at ?? "") - Date.parse(j.created_at)),
    50,
  );
}

export async function run(): Promise<void> {
  const platform = await startBenchPlatform({
    services: ["job-scheduler", "registry", "gateway", "python-runner"],
    databaseUrl: process.env.DATABASE_URL ?? null,
  });
  let ray: RayHead | null = null;
  try {
    ray = await startRayHead({ dir: platform.dir, numCpus: RAY_CPUS });
    const sides = { ours: ourJobSide(platform.api, { ...JOB, experiment: "bench-latency" }), ray: await rayJobSide(ray, join(platform.dir, "ray-job"), JOB) };
    await warmUp(sides.ours, WARM_UP_JOBS);
    await warmUp(sides.ray, WARM_UP_JOBS);

    const loadAtStart = loadNow();
    const runs = await repeat(RUNS, async (r) => {
      const figures: Partial<Record<"ours" | "ray", SideFigures>> = {};
      let claim = 0;
      for (const name of alternate(r, ["ours", "ray"] as const)) {
        const measured = await sequence(sides[name]);
        figures[name] = measured.figures;
        if (name === "ours") claim = await claimP50(platform.api, measured.ids);
        await sleep(2_000);
      }
      const result = { ours: figures.ours!, ray: figures.ray!, ours_claim_p50_ms: claim };
      console.log(
        `jobs-latency run ${r + 1}/${RUNS}: submit → running p50 ours ${result.ours.submit_to_running_p50_ms} ms, Ray ${result.ray.submit_to_running_p50_ms} ms; ` +
          `submit → completed p50 ours ${result.ours.submit_to_completed_p50_ms} ms, Ray ${result.ray.submit_to_completed_p50_ms} ms`,
      );
      return result;
    });

    const figures = (side: "ours" | "ray") => ({
      submit_to_running_p50_ms: spreadOf(runs, (r) => r[side].submit_to_running_p50_ms, 1),
      submit_to_running_p99_ms: spreadOf(runs, (r) => r[side].submit_to_running_p99_ms, 1),
      submit_to_completed_p50_ms: spreadOf(runs, (r) => r[side].submit_to_completed_p50_ms, 1),
      submit_to_completed_p99_ms: spreadOf(runs, (r) => r[side].submit_to_completed_p99_ms, 1),
    });
    const oursFigures = figures("ours");
    const rayFigures = figures("ray");
    const ours = oursFigures.submit_to_running_p50_ms;
    const baseline = rayFigures.submit_to_running_p50_ms;
    const file = await writeResult({
      name: "jobs-latency",
      ours: ours.median,
      baseline: baseline.median,
      ratio: round(baseline.median / Math.max(ours.median, 0.1)),
      unit: "ms (p50 submit → script running, trivial jobs in sequence, warm environment)",
      runs: RUNS,
      ours_spread: ours,
      baseline_spread: baseline,
      notes:
        `${RUNS} runs; each sends ${JOBS_PER_RUN} jobs one after another to each side (the next once the last is done), alternating which side goes first, ` +
        `after ${WARM_UP_JOBS} warm-up jobs per side (Ray: one more first) built and cached both environments. Same script on both sides ` +
        `(imports ${JOB.requirements.join(", ")}, prints a table), same client (undici request), each job's status polled ${POLL_MS} ms after the previous answer. ` +
        "Running means the script started in its ready environment: ours when the runner reports it (job phase `running`; a runner claims the job earlier, " +
        "see ours_claim_p50_ms), Ray when the job is RUNNING (its supervisor starts the entrypoint). Times are from the submit call to the first poll that " +
        "sees the state, so they carry up to one poll interval plus one status call. " +
        `Ours: ${process.env.DATABASE_URL ? "PostgreSQL" : "embedded database"}, job-scheduler, registry, gateway and one python-runner (one slot, bubblewrap sandbox). ` +
        `Ray ${ray.version}: one head node (ray start --head --num-cpus ${RAY_CPUS}, all on 127.0.0.1), jobs through POST /api/jobs/ with runtime_env pip ` +
        "and a working_dir package uploaded once (as ray job submit does). Both systems are up for the whole run. " +
        `Shared 2-core machine: load average (1, 5, 15 min) ${loadAtStart.join(", ")} when the measured runs began; at the end in machine.load_average_at_write.`,
      load_average_at_start: loadAtStart,
      figures: { ours: oursFigures, ray: rayFigures },
      ours_claim_p50_ms: spreadOf(runs, (r) => r.ours_claim_p50_ms, 1),
      jobs_per_run: JOBS_PER_RUN,
      poll_interval_ms: POLL_MS,
      per_run: runs,
    });
    console.log(`jobs-latency: submit → running p50 ours ${ours.median} ms, Ray ${baseline.median} ms -> ${file}`);
  } finally {
    await ray?.stop();
    await platform.stop();
  }
}
