import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { pollUntil, startPlatform, waitForJob, type Platform } from "@asgard/test-support";

interface Job {
  job_id: string;
  status: string;
  error: string | null;
  error_type: string | null;
  logs: string;
  resources?: { memory_mb: number; cpus: number | null; processes: number; disk_mb: number };
}

interface Status {
  runners?: { live: number; replicas: Array<{ runner_id: string; isolation?: Record<string, unknown> }> };
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
const rand = () => Math.random().toString(36).slice(2, 10);
const TERMINAL = ["completed", "failed", "cancelled"];

/** Holds on to more memory than it may: writes every page, so the kernel must account it. */
const MEMORY_HOG = `
import time
chunks = []
for i in range(64):
    chunks.append(b"x" * (32 * 1024 * 1024))
    print(f"holding {32 * (i + 1)} MiB", flush=True)
print("never reached: the memory limit did not hold")
`;

/** Shares the runner with the hog, using memory of its own, and must be unharmed. */
const NEIGHBOUR = `
import time
data = b"y" * (64 * 1024 * 1024)
time.sleep(8)
print("neighbour done", len(data))
`;

/** Fills its working directory, as a script saving checkpoints without bound would. */
const DISK_FILLER = `
block = b"z" * (1024 * 1024)
with open("checkpoint.bin", "wb") as f:
    for i in range(512):
        f.write(block)
        f.flush()
print("never reached: the work directory was not capped")
`;

/** Burns CPU for a moment under its quota. */
const CPU_WORK = `
import time
start = time.process_time()
total = sum(i * i for i in range(3_000_000))
print("cpu work done", total > 0, round(time.process_time() - start, 2))
`;

describe("per-job resource limits", () => {
  const infra = inject("infra");
  let platform: Platform;

  beforeAll(async () => {
    platform = await startPlatform(infra, {
      runners: 1,
      services: ["job-scheduler", "registry", "status", "gateway"],
      // Deployment maxima below the defaults, so a request can go over them.
      env: { MAX_JOB_MEMORY_MB: "2048", MAX_JOB_DISK_MB: "1024", MAX_JOB_CPUS: "2" },
      runnerEnv: { RUNNER_SLOTS: "2" },
    });
  }, 180_000);

  afterAll(async () => {
    await platform?.stop();
  });

  const upload = (name: string, script: string, resources?: Record<string, unknown>) =>
    fetch(`${platform.api}/mlops/training/upload`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        script_name: `${name}.py`,
        script_content: b64(script),
        experiment_name: `limits-${rand()}`,
        model_name: "limits",
        timeout: 300,
        ...(resources ? { resources } : {}),
      }),
    });

  const submit = async (name: string, script: string, resources?: Record<string, unknown>): Promise<Job> => {
    const res = await upload(name, script, resources);
    expect(res.status).toBe(202);
    return (await res.json()) as Job;
  };

  it("answers 422 naming the field and the maximum when a job asks for more than the deployment allows", async () => {
    const res = await upload("too-big", 'print("hi")\n', { memory_mb: 4096, cpus: 1 });
    expect(res.status).toBe(422);
    const body = (await res.json()) as { issues: Array<{ field: string; message: string }> };
    expect(body.issues).toEqual([{ field: "resources.memory_mb", message: expect.stringContaining("at most 2048 MiB") }]);
    const cpus = await upload("too-many-cpus", 'print("hi")\n', { cpus: 4 });
    expect(cpus.status).toBe(422);
  });

  it("stores what a job asked for, the maxima for the rest", async () => {
    const job = await submit("asks", 'print("hi")\n', { memory_mb: 1024 });
    expect(job.resources).toEqual({ memory_mb: 1024, cpus: 2, processes: 1024, disk_mb: 1024 });
    expect((await waitForJob<Job>(platform.api, job.job_id, TERMINAL)).status).toBe("completed");
  }, 600_000);

  it("fails a job over its memory request with resource_limit while its neighbour completes", async () => {
    const [hog, neighbour] = await Promise.all([
      submit("hog", MEMORY_HOG, { memory_mb: 512 }),
      submit("neighbour", NEIGHBOUR, { memory_mb: 512 }),
    ]);
    const [hogDone, neighbourDone] = await Promise.all([
      waitForJob<Job>(platform.api, hog.job_id, TERMINAL),
      waitForJob<Job>(platform.api, neighbour.job_id, TERMINAL),
    ]);
    expect(hogDone).toMatchObject({ status: "failed", error_type: "resource_limit" });
    expect(hogDone.error).toContain("memory limit of 512 MiB");
    expect(hogDone.logs).not.toContain("never reached");
    expect(neighbourDone.status).toBe("completed");
    expect(neighbourDone.logs).toContain("neighbour done");
  }, 600_000);

  it("runs a CPU-limited job to completion", async () => {
    const job = await submit("cpu", CPU_WORK, { cpus: 0.5 });
    const done = await waitForJob<Job>(platform.api, job.job_id, TERMINAL);
    expect(done.status).toBe("completed");
    expect(done.logs).toContain("cpu work done True");
    expect(done.logs).toContain("0.5 CPUs");
  }, 600_000);

  it("fails a job that fills its work directory with resource_limit naming disk_mb", async () => {
    const job = await submit("filler", DISK_FILLER, { disk_mb: 64 });
    const done = await waitForJob<Job>(platform.api, job.job_id, TERMINAL);
    expect(done).toMatchObject({ status: "failed", error_type: "resource_limit" });
    expect(done.error).toContain("at most 64 MiB (resources.disk_mb)");
    expect(done.logs).not.toContain("never reached");
  }, 600_000);

  it("shows each runner's isolation level in /mlops/status", async () => {
    const { body } = await pollUntil<Status>(
      `${platform.api}/mlops/status`,
      (s, b) => s === 200 && (b.runners?.replicas.length ?? 0) > 0,
      300,
      200,
    );
    const isolation = body.runners?.replicas[0]?.isolation;
    // This machine gives the runner bubblewrap, seccomp and cgroup v1; internet is off by default.
    expect(isolation).toEqual({ mode: "bwrap", cgroups: "v1", seccomp: true, internet: false });
  }, 120_000);
});
