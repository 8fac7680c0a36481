import { loadavg } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { alternate, timeBatch, warmUp, type BenchJob, type JobSide } from "./job-side.js";
import { ourJobSide } from "./platform.js";
import { rayJobSide, withPlatformAndRay } from "./ray.js";
import { writeResult } from "./results.js";
import { percentile, repeat, round, spreadOf } from "./spread.js";

/**
 * 16 trivial jobs submitted at once to us and to Ray Jobs (same script, same requirements,
 * environments warm on both sides), watched by the same client: submit → first observed
 * running, and completed jobs per minute for the batch.
 */
const RUNS = 3;
const JOBS = 16;
const WARM_UP_JOBS = 2;
/** Each job's status is polled this long after the previous answer, on both sides. */
const POLL_MS = 100;
const RAY_CPUS = 2;
/** A small pure-Python package, installed into the job's environment on both sides. */
const REQUIREMENTS = ["tabulate==0.9.0"];
const SCRIPT = 'import tabulate\n\nprint(tabulate.tabulate([["job", "ok"]]))\n';

const JOB: BenchJob = { script: SCRIPT, requirements: REQUIREMENTS };

interface BatchFigures {
  jobs_per_minute: number;
  batch_seconds: number;
  submit_to_running_p50_ms: number;
  submit_to_running_p99_ms: number;
  submit_to_completed_p50_ms: number;
}

/** Submits every job at once and polls each until it is done; times are client-side. */
async function batch(side: JobSide): Promise<BatchFigures> {
  const { jobs_per_minute, jobs } = await timeBatch(side, JOBS, POLL_MS);
  const running = jobs.map((j) => j.running_ms);
  return {
    jobs_per_minute,
    batch_seconds: round((JOBS / jobs_per_minute) * 60, 2),
    submit_to_running_p50_ms: round(percentile(running, 50), 0),
    submit_to_running_p99_ms: round(percentile(running, 99), 0),
    submit_to_completed_p50_ms: round(percentile(jobs.map((j) => j.completed_ms), 50), 0),
  };
}

export function run(): Promise<void> {
  return withPlatformAndRay(RAY_CPUS, async (platform, head) => {
    const ours = ourJobSide(platform.api, { ...JOB, experiment: "bench-vs-ray" });
    // Builds Ray's environment, after its job agent came up, with one job of its own.
    const theirs = await rayJobSide(head, join(platform.dir, "ray-job"), JOB);
    await warmUp(ours, WARM_UP_JOBS);
    await warmUp(theirs, WARM_UP_JOBS);

    const loadAtStart = loadavg().map((l) => round(l, 2));
    const runs = await repeat(RUNS, async (r) => {
      const figures: Partial<Record<"ours" | "ray", BatchFigures>> = {};
      for (const name of alternate(r, ["ours", "ray"] as const)) {
        figures[name] = await batch(name === "ours" ? ours : theirs);
        await sleep(2_000);
      }
      const result = { ours: figures.ours!, ray: figures.ray! };
      console.log(
        `jobs-vs-ray run ${r + 1}/${RUNS}: ours ${result.ours.jobs_per_minute} jobs/min (running p50 ${result.ours.submit_to_running_p50_ms} ms), ` +
          `Ray ${result.ray.jobs_per_minute} jobs/min (running p50 ${result.ray.submit_to_running_p50_ms} ms)`,
      );
      return result;
    });

    const figures = (side: "ours" | "ray") => ({
      jobs_per_minute: spreadOf(runs, (r) => r[side].jobs_per_minute, 2),
      batch_seconds: spreadOf(runs, (r) => r[side].batch_seconds, 2),
      submit_to_running_p50_ms: spreadOf(runs, (r) => r[side].submit_to_running_p50_ms, 0),
      submit_to_running_p99_ms: spreadOf(runs, (r) => r[side].submit_to_running_p99_ms, 0),
      submit_to_completed_p50_ms: spreadOf(runs, (r) => r[side].submit_to_completed_p50_ms, 0),
    });
    const oursFigures = figures("ours");
    const rayFigures = figures("ray");
    const file = await writeResult({
      name: "jobs-vs-ray",
      ours: oursFigures.jobs_per_minute.median,
      baseline: rayFigures.jobs_per_minute.median,
      ratio: round(oursFigures.jobs_per_minute.median / rayFigures.jobs_per_minute.median),
      unit: "completed jobs per minute (16 trivial jobs submitted at once, warm environments)",
      runs: RUNS,
      ours_spread: oursFigures.jobs_per_minute,
      baseline_spread: rayFigures.jobs_per_minute,
      notes:
        `${RUNS} runs; each submits ${JOBS} copies of the same script (imports ${REQUIREMENTS.join(", ")}, prints a table) at once to each side, ` +
        `alternating which side goes first, after ${WARM_UP_JOBS} warm-up jobs per side (Ray: one more first) built and cached both environments. ` +
        `Same client for both (undici request): each job's status polled ${POLL_MS} ms after the previous answer; ` +
        `submit → running is from the submit call to the first poll that sees the script started (ours: phase running; Ray: RUNNING) or the job done, so it carries up to one poll interval. ` +
        `Ours: ${process.env.DATABASE_URL ? "PostgreSQL" : "embedded database"}, job-scheduler, registry, gateway and one python-runner with npm start's defaults ` +
        `(RUNNER_SLOTS=1: jobs run one at a time; bubblewrap sandbox), submitted to /mlops/training/upload with requirements. ` +
        `Ray ${head.version}: one head node (ray start --head --num-cpus ${RAY_CPUS}, all on 127.0.0.1), jobs submitted to POST /api/jobs/ with runtime_env pip ` +
        `and a working_dir package uploaded once (as ray job submit does); a job entrypoint reserves no CPU by default, so Ray runs all ${JOBS} at once ` +
        "(a JobSupervisor actor and a driver process each). Both systems are up for the whole run; each of our services runs in its own session " +
        "(so its own scheduler autogroup), Ray's daemons share one session as `ray start` runs them (its drivers get their own). " +
        `The machine is shared with other engineers' tests: load average (1, 5, 15 min) when the measured runs began ${loadAtStart.join(", ")}, ` +
        "when the result was written in machine.load_average_at_write.",
      load_average_at_start: loadAtStart,
      figures: { ours: oursFigures, ray: rayFigures },
      jobs_per_batch: JOBS,
      poll_interval_ms: POLL_MS,
      concurrency: { ours_runner_slots: 1, ours_runners: 1, ray_num_cpus: RAY_CPUS, ray_entrypoint_num_cpus: 0 },
      per_run: runs,
    });
    console.log(
      `jobs-vs-ray: ours ${oursFigures.jobs_per_minute.median} jobs/min, Ray ${rayFigures.jobs_per_minute.median} jobs/min -> ${file}`,
    );
  });
}
