import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createMlflowClient, type MlflowClient } from "@asgard/mlflow";
import { type Platform, pollUntil, SLEEP_SCRIPT, startPlatform, waitForJob } from "@asgard/test-support";

interface Job {
  job_id: string;
  status: string;
  attempt: number;
  run_id: string | null;
  logs: string;
  error_type: string | null;
  started_at: string | null;
  completed_at: string | null;
}

interface Status {
  runners?: { live: number; slots: number; replicas: Array<{ runner_id: string }> };
  queue?: { pending: number; in_flight: number } | null;
}

/**
 * Waits until GET /mlops/status reports `live` runners and no job in flight (a runner acks
 * just after its job's outcome is published); bounded by tries.
 */
async function idleRunners(api: string, live: number): Promise<Status> {
  const check = (s: number, b: Status) => s === 200 && b.runners?.live === live && b.queue?.in_flight === 0;
  return (await pollUntil<Status>(`${api}/mlops/status`, check, 300, 200)).body;
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
const rand = () => Math.random().toString(36).slice(2, 10);

async function upload(api: string, body: Record<string, unknown>): Promise<Job> {
  const res = await fetch(`${api}/mlops/training/upload`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(202);
  return (await res.json()) as Job;
}

/**
 * Largest number of jobs whose scripts ran at the same time, from the start and end times
 * each script recorded in its job's log.
 */
function maxOverlap(jobs: Job[]): number {
  const mark = (job: Job, name: string) => {
    const m = new RegExp(`${name}=(\\d+)`).exec(job.logs);
    if (!m) throw new Error(`job ${job.job_id} recorded no ${name}: ${job.logs}`);
    return Number(m[1]);
  };
  const edges = jobs.flatMap((j) => [
    { at: mark(j, "script_start_ms"), delta: 1 },
    { at: mark(j, "script_end_ms"), delta: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let open = 0;
  let max = 0;
  for (const e of edges) {
    open += e.delta;
    max = Math.max(max, open);
  }
  return max;
}

function processesWith(marker: string): string[] {
  return execFileSync("ps", ["-eo", "pid,args"], { encoding: "utf8" })
    .split("\n")
    .filter((l) => l.includes(marker) && !l.includes("ps -eo"));
}

describe("runner replicas share one durable consumer", () => {
  const infra = inject("infra");
  let platform: Platform;
  let mlflow: MlflowClient;

  beforeAll(async () => {
    // The status service too: /mlops/status reports the live runners from their heartbeats.
    platform = await startPlatform(infra, { runners: 1, services: ["job-scheduler", "registry", "status", "gateway"] });
    mlflow = createMlflowClient({ baseUrl: infra.mlflowUrl });
  }, 180_000);

  afterAll(async () => {
    await mlflow?.close();
    await platform?.stop();
  });

  const batch = async (experiment: string, count: number) => {
    const jobs = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        upload(platform.api, {
          script_name: `sleep-${i}.py`,
          script_content: b64(SLEEP_SCRIPT(3, `job ${i} done`)),
          experiment_name: experiment,
          model_name: "sleep",
          timeout: 120,
        }),
      ),
    );
    return Promise.all(jobs.map((j) => waitForJob<Job>(platform.api, j.job_id, ["completed", "failed", "cancelled"])));
  };

  it("runs 8 jobs one at a time with 1 runner, and up to 4 at once with 4, none twice", async () => {
    expect((await idleRunners(platform.api, 1)).runners).toMatchObject({ live: 1, slots: 1, replicas: [{ runner_id: "runner-1" }] });
    const one = await batch(`scale-1-${rand()}`, 8);
    expect(one.every((j) => j.status === "completed")).toBe(true);
    expect(maxOverlap(one)).toBe(1);

    for (let i = 0; i < 3; i++) await platform.addRunner();
    const status = await idleRunners(platform.api, 4);
    expect(status.runners?.slots).toBe(4);
    expect(status.runners?.replicas.map((r) => r.runner_id)).toEqual(["runner-1", "runner-2", "runner-3", "runner-4"]);
    // Every job of the first batch was taken: nothing waits in the training queue.
    expect(status.queue?.pending).toBe(0);
    const experiment = `scale-4-${rand()}`;
    const four = await batch(experiment, 8);
    expect(four.every((j) => j.status === "completed" && j.attempt === 1)).toBe(true);
    const overlap = maxOverlap(four);
    expect(overlap).toBeGreaterThanOrEqual(2);
    expect(overlap).toBeLessThanOrEqual(4);
    // None ran twice: one MLflow run per job.
    const exp = await mlflow.getExperimentByName(experiment);
    const { runs } = await mlflow.searchRuns({ experimentIds: [exp!.experiment_id], maxResults: 100 });
    expect(runs).toHaveLength(8);
    const jobIds = runs.map((r) => r.data.tags.find((t: { key: string }) => t.key === "asgard.job_id")?.value);
    expect(new Set(jobIds).size).toBe(8);
  }, 600_000);

  it("a runner killed with SIGKILL takes its script with it, and the job is retried and completes", async () => {
    const marker = `asgard-orphan-${rand()}`;
    // Only the victim runs now: the others stop pulling first.
    for (const r of platform.runners.slice(1)) await r.stop();
    const victim = platform.runners[0]!;
    const job = await upload(platform.api, {
      script_name: "victim.py",
      script_content: b64(
        `import subprocess, sys, time\n` +
          `subprocess.Popen(["setsid", sys.executable, "-c", "import time; time.sleep(100000)", "${marker}"])\n` +
          `print("working", flush=True)\ntime.sleep(8)\nprint("finished", flush=True)\n`,
      ),
      experiment_name: `kill-${rand()}`,
      model_name: "k",
      timeout: 120,
    });
    for (let i = 0; i < 600; i++) {
      const j = (await (await fetch(`${platform.api}/mlops/training/jobs/${job.job_id}`)).json()) as Job;
      if (j.logs.includes("working")) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(processesWith(marker).length).toBeGreaterThan(0);
    victim.child.kill("SIGKILL");
    await victim.exited;
    for (let i = 0; i < 100 && processesWith(marker).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(processesWith(marker)).toEqual([]);

    await platform.addRunner();
    // The lost attempt is a platform fault, not the job's: it runs again and completes.
    const done = await waitForJob<Job>(platform.api, job.job_id, ["completed", "failed"]);
    expect(done).toMatchObject({ status: "completed", error_type: null });
    expect(done.attempt).toBeGreaterThanOrEqual(2);
    expect(done.logs).toMatch(/\[asgard\] attempt 1 lost: runner \S+ (lost the job|sent no heartbeat)/);
    expect(done.logs).toContain("finished");
  }, 600_000);

  it("on SIGTERM a runner hands back what it cannot finish, and another replica completes it", async () => {
    const live = platform.runners.filter((r) => r.child.exitCode === null && r.child.signalCode === null);
    for (const r of live) await r.stop();
    const leaving = await platform.addRunner({ RUNNER_SHUTDOWN_GRACE_MS: "1000" });
    const job = await upload(platform.api, {
      script_name: "slow.py",
      script_content: b64(SLEEP_SCRIPT(6, "slow done")),
      experiment_name: `handover-${rand()}`,
      model_name: "h",
      timeout: 120,
    });
    for (let i = 0; i < 600; i++) {
      const j = (await (await fetch(`${platform.api}/mlops/training/jobs/${job.job_id}`)).json()) as Job;
      if (j.logs.includes("sleeping")) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    leaving.child.kill("SIGTERM");
    await leaving.exited;
    await platform.addRunner();
    const done = await waitForJob<Job>(platform.api, job.job_id, ["completed", "failed"]);
    expect(done.status).toBe("completed");
    expect(done.attempt).toBe(2);
    expect(done.logs).toContain("handed back to the queue");
    expect(done.logs).toContain("slow done");
  }, 600_000);
});
