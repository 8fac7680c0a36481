import { loadavg } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { call, callJson } from "./http.js";
import type { JobView } from "./platform.js";
import { RAY_TERMINAL, rayJob, submitRayJob, submitRayJobWhenReady, uploadWorkingDir, waitForRaySuccess, withPlatformAndRay, type RayHead } from "./ray.js";
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

type Phase = "queued" | "running" | "done" | "failed";

/** One system under test, seen through its own HTTP API. */
interface Side {
  submit(): Promise<string>;
  phase(id: string): Promise<Phase>;
  describe(id: string): Promise<string>;
}

interface BatchFigures {
  jobs_per_minute: number;
  batch_seconds: number;
  submit_to_running_p50_ms: number;
  submit_to_running_p99_ms: number;
  submit_to_completed_p50_ms: number;
}

/** Submits every job at once and polls each until it is done; times are client-side. */
async function batch(side: Side): Promise<BatchFigures> {
  const start = performance.now();
  const jobs = await Promise.all(
    Array.from({ length: JOBS }, async () => {
      const sent = performance.now();
      const id = await side.submit();
      let running: number | null = null;
      for (;;) {
        const phase = await side.phase(id);
        const now = performance.now();
        // A job that finished between two polls was running before it: its first sighting counts.
        if (running === null && (phase === "running" || phase === "done")) running = now - sent;
        if (phase === "done") return { running: running ?? now - sent, completed: now - sent, end: now };
        if (phase === "failed") throw new Error(`job ${id} failed: ${await side.describe(id)}`);
        await sleep(POLL_MS);
      }
    }),
  );
  const seconds = (Math.max(...jobs.map((j) => j.end)) - start) / 1_000;
  return {
    jobs_per_minute: round((JOBS / seconds) * 60, 2),
    batch_seconds: round(seconds, 2),
    submit_to_running_p50_ms: round(percentile(jobs.map((j) => j.running), 50), 0),
    submit_to_running_p99_ms: round(percentile(jobs.map((j) => j.running), 99), 0),
    submit_to_completed_p50_ms: round(percentile(jobs.map((j) => j.completed), 50), 0),
  };
}

function ourSide(api: string): Side {
  const body = JSON.stringify({
    script_name: "job.py",
    script_content: Buffer.from(SCRIPT).toString("base64"),
    experiment_name: "bench-vs-ray",
    model_name: "bench-vs-ray",
    requirements: REQUIREMENTS,
    timeout: 600,
  });
  const job = (id: string) => callJson<JobView>("GET", `${api}/mlops/training/jobs/${id}`);
  return {
    async submit() {
      const res = await call("POST", `${api}/mlops/training/upload`, body);
      if (res.status !== 202) throw new Error(`upload answered ${res.status}: ${res.text}`);
      return (JSON.parse(res.text) as JobView).job_id;
    },
    async phase(id) {
      const { status } = await job(id);
      return status === "completed" ? "done" : status === "queued" || status === "running" ? status : "failed";
    },
    async describe(id) {
      const j = await job(id);
      return `${j.status}\n${j.logs}`;
    },
  };
}

const rayJobSpec = (workingDir: string) => ({ entrypoint: "python job.py", runtime_env: { working_dir: workingDir, pip: REQUIREMENTS } });

function raySide(head: RayHead, workingDir: string): Side {
  const job = rayJobSpec(workingDir);
  return {
    submit: () => submitRayJob(head, job),
    async phase(id) {
      const { status } = await rayJob(head, id);
      if (status === "SUCCEEDED") return "done";
      if ((RAY_TERMINAL as readonly string[]).includes(status)) return "failed";
      return status === "RUNNING" ? "running" : "queued";
    },
    async describe(id) {
      const info = await rayJob(head, id);
      return `${info.status}: ${info.message ?? ""}`;
    },
  };
}

async function warmUp(side: Side): Promise<void> {
  for (let i = 0; i < WARM_UP_JOBS; i++) {
    const id = await side.submit();
    for (;;) {
      const phase = await side.phase(id);
      if (phase === "done") break;
      if (phase === "failed") throw new Error(`warm-up job ${id} failed: ${await side.describe(id)}`);
      await sleep(250);
    }
  }
}

export function run(): Promise<void> {
  return withPlatformAndRay(RAY_CPUS, async (platform, head) => {
    const workingDir = await uploadWorkingDir(head, join(platform.dir, "ray-job"), { "job.py": SCRIPT });
    const ours = ourSide(platform.api);
    const theirs = raySide(head, workingDir);
    // The first warm-up job builds each side's environment; Ray's first one also waits for its job agent to come up.
    await waitForRaySuccess(head, await submitRayJobWhenReady(head, rayJobSpec(workingDir)));
    await warmUp(ours);
    await warmUp(theirs);

    const loadAtStart = loadavg().map((l) => round(l, 2));
    const runs = await repeat(RUNS, async (r) => {
      // Alternate which side goes first, so neither always inherits the other's aftermath.
      const order = r % 2 === 0 ? (["ours", "ray"] as const) : (["ray", "ours"] as const);
      const figures: Partial<Record<"ours" | "ray", BatchFigures>> = {};
      for (const name of order) {
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
        `submit → running is from the submit call to the first poll that sees it running (or done), so it carries up to one poll interval. ` +
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
