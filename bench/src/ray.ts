import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort, spawnManaged, waitUntilReady, type ManagedProcess } from "@asgard/infra";
import { ensureRayVenv, run } from "@asgard/tools";
import { call } from "./http.js";
import { startBenchPlatform, type BenchPlatform } from "./platform.js";
import { JOB_SCRIPT_NAME, type BenchJob, type JobSide } from "./job-side.js";

/**
 * A single-node Ray head for the benchmarks that compare us with Ray Jobs: every port on
 * loopback, usage stats off, its state in a scratch directory. Stopping it ends every process
 * it started, including job drivers Ray put in sessions of their own.
 */
export interface RayHead {
  /** The dashboard, which serves the Jobs REST API. */
  dashboardUrl: string;
  version: string;
  stop(): Promise<void>;
}

/**
 * Our job stack as `npm start` runs it (job-scheduler, registry, gateway, one python-runner;
 * PostgreSQL when DATABASE_URL is set) and a Ray head with `numCpus` beside it, both up for
 * the whole of `work` and stopped after it.
 */
export async function withPlatformAndRay<T>(numCpus: number, work: (platform: BenchPlatform, head: RayHead) => Promise<T>): Promise<T> {
  const platform = await startBenchPlatform({
    services: ["job-scheduler", "registry", "gateway", "python-runner"],
    databaseUrl: process.env.DATABASE_URL ?? null,
  });
  let head: RayHead | null = null;
  try {
    head = await startRayHead({ dir: platform.dir, numCpus });
    return await work(platform, head);
  } finally {
    await head?.stop();
    await platform.stop();
  }
}

/** Ray terminal job statuses (`ray.job_submission.JobStatus`). */
export const RAY_TERMINAL = ["SUCCEEDED", "FAILED", "STOPPED"] as const;

export interface RayJobInfo {
  submission_id: string;
  status: "PENDING" | "RUNNING" | (typeof RAY_TERMINAL)[number];
  message?: string | null;
}

const MARKER = "ASGARD_BENCH_RAY_HEAD";

/**
 * `ray start` gives the raylet 30 s to register with the GCS, and the raylet gives its Python
 * agents 15 s to come up (neither is configurable in 2.60). All of Ray's daemons share one
 * session, hence one scheduler autogroup, i.e. the CPU share of a single process, and start
 * some fifteen Python interpreters at once: on this loaded machine both limits run out. So the
 * head's autogroup gets a raised priority while it starts and is put back to normal before
 * anything is measured; a start that still fails is cleared and tried again.
 */
const START_ATTEMPTS = 4;
const START_NICE = -10;

export async function startRayHead(options: { dir: string; numCpus: number }): Promise<RayHead> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    try {
      return await startRayHeadOnce({ ...options, tempDir: join(options.dir, `ray-${attempt}`) });
    } catch (err) {
      lastError = err;
      console.warn(`ray head start ${attempt}/${START_ATTEMPTS} failed: ${(err as Error).message}`);
    }
  }
  throw lastError;
}

async function startRayHeadOnce(options: { dir: string; numCpus: number; tempDir: string }): Promise<RayHead> {
  const venv = await ensureRayVenv();
  const { tempDir } = options;
  await mkdir(tempDir, { recursive: true });
  const [gcs, dashboard, client, agentHttp, agentGrpc, runtimeEnv, metrics, nodeManager, objectManager] = await distinctFreePorts(9);
  const dashboardUrl = `http://127.0.0.1:${dashboard}`;
  let started = false;
  const head = spawnManaged({
    name: "ray-head",
    command: join(venv, "bin", "ray"),
    // `--block` keeps this process as the parent of Ray's daemons, so stopping it stops them.
    args: [
      "start", "--head", "--block",
      "--node-ip-address", "127.0.0.1",
      "--port", String(gcs),
      "--dashboard-host", "127.0.0.1",
      "--dashboard-port", String(dashboard),
      "--ray-client-server-port", String(client),
      "--dashboard-agent-listen-port", String(agentHttp),
      "--dashboard-agent-grpc-port", String(agentGrpc),
      "--runtime-env-agent-port", String(runtimeEnv),
      "--metrics-export-port", String(metrics),
      "--node-manager-port", String(nodeManager),
      "--object-manager-port", String(objectManager),
      "--num-cpus", String(options.numCpus),
      "--disable-usage-stats",
      "--temp-dir", tempDir,
    ],
    env: {
      ...process.env,
      PATH: `${join(venv, "bin")}:${process.env.PATH ?? ""}`,
      RAY_USAGE_STATS_ENABLED: "0",
      // Ray otherwise swaps 127.0.0.1 for the host's routable address and binds its GCS and
      // raylet there; this keeps every Ray address (and all its traffic) on loopback.
      RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER: "0",
      // Inherited by everything Ray starts, including drivers in sessions of their own: how stop() finds them.
      [MARKER]: tempDir,
    },
    cwd: options.dir,
    logFile: `${tempDir}.log`,
    onLine: (line) => {
      if (line.includes("Ray runtime started")) started = true;
    },
  });
  const stop = () => stopRay(head, tempDir);
  await autogroupNice(head.pid, START_NICE);
  try {
    // The dashboard answers before the node has registered; "Ray runtime started" comes after it did.
    await waitUntilReady(head, "ray head", async () => started && (await rayRequest({ dashboardUrl }, "GET", "/api/version")).status === 200, 10 * 60_000, 500);
    await autogroupNice(head.pid, 0);
    const version = (JSON.parse((await rayRequest({ dashboardUrl }, "GET", "/api/version")).text) as { ray_version: string }).ray_version;
    return { dashboardUrl, version, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * The nice value of the scheduler autogroup of `pid`'s session (spawnManaged starts a session).
 * Kernels without autogroups have no such file: then there is nothing to adjust.
 */
async function autogroupNice(pid: number, nice: number): Promise<void> {
  await writeFile(`/proc/${pid}/autogroup`, String(nice)).catch(() => undefined);
}

/** Free loopback ports, all different (the kernel may hand the same one out twice once it was closed). */
async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/**
 * SIGTERM to `ray start --block` (it stops its daemons), then SIGKILL to every process that
 * still carries this head's marker: drivers and workers Ray moved into their own sessions.
 * Only processes of this head are touched, by pid.
 */
async function stopRay(head: ManagedProcess, tempDir: string): Promise<void> {
  await head.stop(15_000);
  for (let round = 0; round < 20; round++) {
    const left = await markedPids(tempDir);
    if (left.length === 0) return;
    for (const pid of left) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
    await sleep(250);
  }
  const left = await markedPids(tempDir);
  if (left.length > 0) throw new Error(`Ray processes ${left.join(", ")} outlived the benchmark`);
}

async function markedPids(tempDir: string): Promise<number[]> {
  const needle = `${MARKER}=${tempDir}\0`;
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if ((await readFile(`/proc/${pid}/environ`, "latin1")).includes(needle)) pids.push(pid);
    } catch {
      /* gone, or not readable: not ours */
    }
  }
  return pids;
}

function rayRequest(head: Pick<RayHead, "dashboardUrl">, method: "GET" | "POST" | "PUT", path: string, body?: string | Buffer) {
  return call(method, `${head.dashboardUrl}${path}`, body);
}

/**
 * Uploads a working directory the way `ray job submit --working-dir` does: a zip named by
 * its content hash, PUT once to the dashboard's package store; returns its `gcs://` URI.
 */
export async function uploadWorkingDir(head: RayHead, dir: string, files: Record<string, string>): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  const zip = `${dir}.zip`;
  const venv = await ensureRayVenv();
  await run(join(venv, "bin", "python"), ["-m", "zipfile", "-c", zip, ...Object.keys(files)], { cwd: dir });
  const bytes = await readFile(zip);
  const name = `_ray_pkg_${createHash("sha1").update(bytes).digest("hex").slice(0, 16)}.zip`;
  const res = await rayRequest(head, "PUT", `/api/packages/gcs/${name}`, bytes);
  if (res.status !== 200) throw new Error(`Ray package upload answered ${res.status}: ${res.text}`);
  return `gcs://${name}`;
}

/** `POST /api/jobs/`; returns the submission id. */
export async function submitRayJob(
  head: RayHead,
  job: { entrypoint: string; runtime_env: Record<string, unknown>; submission_id?: string },
): Promise<string> {
  const res = await rayRequest(head, "POST", "/api/jobs/", JSON.stringify(job));
  if (res.status !== 200) throw new RaySubmitError(res.status, res.text);
  return (JSON.parse(res.text) as { submission_id: string }).submission_id;
}

export class RaySubmitError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`Ray job submission answered ${status}: ${body.slice(-2000)}`);
    this.name = "RaySubmitError";
  }
}

/**
 * Right after start-up the dashboard has no job agent yet and refuses submissions with a
 * 500 saying so; the first (warm-up) submission waits for it.
 */
export async function submitRayJobWhenReady(
  head: RayHead,
  job: { entrypoint: string; runtime_env: Record<string, unknown> },
  timeoutMs = 10 * 60_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await submitRayJob(head, job);
    } catch (err) {
      const waiting = err instanceof RaySubmitError && err.status >= 500 && /agent/i.test(err.body);
      if (!waiting || Date.now() > deadline) throw err;
      await sleep(1_000);
    }
  }
}

export async function rayJob(head: RayHead, submissionId: string): Promise<RayJobInfo> {
  const res = await rayRequest(head, "GET", `/api/jobs/${submissionId}`);
  if (res.status !== 200) throw new Error(`Ray job ${submissionId}: ${res.status} ${res.text}`);
  return JSON.parse(res.text) as RayJobInfo;
}

export async function rayJobLogs(head: RayHead, submissionId: string): Promise<string> {
  const res = await rayRequest(head, "GET", `/api/jobs/${submissionId}/logs`);
  return res.status === 200 ? (JSON.parse(res.text) as { logs: string }).logs : `(logs: ${res.status})`;
}

/** Waits for a terminal status; throws with the job's logs unless it succeeded. */
export async function waitForRaySuccess(head: RayHead, submissionId: string, timeoutMs = 15 * 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await rayJob(head, submissionId);
    if (info.status === "SUCCEEDED") return;
    if ((RAY_TERMINAL as readonly string[]).includes(info.status)) {
      throw new Error(`Ray job ${submissionId} ${info.status}: ${info.message ?? ""}\n${await rayJobLogs(head, submissionId)}`);
    }
    if (Date.now() > deadline) throw new Error(`Ray job ${submissionId} still ${info.status} after ${timeoutMs} ms`);
    await sleep(250);
  }
}

/** A Ray job running `job`'s script from an uploaded working dir, with its requirements as runtime_env pip. */
function rayJobSpec(workingDir: string, job: BenchJob): { entrypoint: string; runtime_env: Record<string, unknown> } {
  const pip = job.requirements.length > 0 ? { pip: job.requirements } : {};
  return { entrypoint: `python ${JOB_SCRIPT_NAME}`, runtime_env: { working_dir: workingDir, ...pip } };
}

/**
 * Ray Jobs as a side of a peer comparison: uploads the script once, then waits for one job to
 * succeed (it waits for the job agent and builds the runtime_env) before anything is timed.
 */
export async function rayJobSide(head: RayHead, dir: string, job: BenchJob): Promise<JobSide> {
  const spec = rayJobSpec(await uploadWorkingDir(head, dir, { [JOB_SCRIPT_NAME]: job.script }), job);
  await waitForRaySuccess(head, await submitRayJobWhenReady(head, spec));
  return {
    submit: () => submitRayJob(head, spec),
    async phase(id) {
      const { status } = await rayJob(head, id);
      if (status === "SUCCEEDED") return "done";
      if ((RAY_TERMINAL as readonly string[]).includes(status)) return "failed";
      return status === "RUNNING" ? "running" : "queued";
    },
    async describe(id) {
      const info = await rayJob(head, id);
      return `${info.status}: ${info.message ?? ""}\n${await rayJobLogs(head, id)}`;
    },
  };
}
