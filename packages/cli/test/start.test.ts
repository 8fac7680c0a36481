import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { newApiKey } from "@asgard/contracts";
import { descendants, freePort, procEntry, spawnManaged, type ManagedProcess } from "@asgard/infra";
import { FROM_SOURCES } from "@asgard/test-support";
import { lockHolder } from "@asgard/tools";

const root = resolve(import.meta.dirname, "..", "..", "..");
const SCRIPT = Buffer.from('import mlflow\nwith mlflow.start_run():\n    mlflow.log_metric("x", 1.0)\nprint("done")\n').toString("base64");
/** A job that is still running while a platform process is killed: it logs to MLflow for about 8 s. */
const SLOW_SCRIPT = Buffer.from(
  'import time, mlflow\nwith mlflow.start_run():\n    for i in range(8):\n        mlflow.log_metric("step", i, step=i)\n        time.sleep(1)\nprint("done")\n',
).toString("base64");

/** `npm start` as a user runs it (bootstrap.mjs → start.ts), on ports and a data directory of its own. */
interface Started {
  top: ManagedProcess;
  api: string;
  output: () => string;
  /** The status of an upload sent from the line handler the moment "Asgard is up." was printed. */
  firstUpload: Promise<{ status: number; body: { job_id?: string } }>;
}

async function npmStart(dataDir: string, port: number, mlflowPort: number, envCache: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Started> {
  let output = "";
  const api = `http://127.0.0.1:${port}`;
  let resolveFirst: (v: { status: number; body: { job_id?: string } }) => void = () => undefined;
  const firstUpload = new Promise<{ status: number; body: { job_id?: string } }>((r) => (resolveFirst = r));
  let up: () => void = () => undefined;
  const isUp = new Promise<void>((r) => (up = r));
  const top = spawnManaged({
    name: "npm-start",
    command: process.execPath,
    args: [join(root, "packages", "cli", "bootstrap.mjs"), "start"],
    cwd: root,
    env: {
      ...withoutExternalServers(process.env),
      ASGARD_DATA_DIR: dataDir,
      PORT: String(port),
      MLFLOW_PORT: String(mlflowPort),
      ENV_CACHE_DIR: envCache,
      LOG_LEVEL: "info",
      ...extraEnv,
    },
    onLine: (line) => {
      output += `${line}\n`;
      if (line === "Asgard is up.") {
        // No wait of any kind: this is the request the issue saw answered 503.
        void upload(api).then(resolveFirst, (err: unknown) => resolveFirst({ status: -1, body: { job_id: String(err) } }));
        up();
      }
    },
  });
  const exited = top.exited.then((code) => {
    throw new Error(`npm start exited with ${code}:\n${output}`);
  });
  await Promise.race([isUp, exited]);
  return { top, api, output: () => output, firstUpload };
}

/** The embedded everything: no variable of the test run points npm start elsewhere. */
function withoutExternalServers(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { DATABASE_URL: _db, NATS_URL: _nats, MLFLOW_TRACKING_URI: _mlflow, ...rest } = env;
  return rest;
}

async function upload(api: string, script = SCRIPT, headers: Record<string, string> = {}): Promise<{ status: number; body: { job_id?: string } }> {
  const res = await fetch(`${api}/mlops/training/upload`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ script_name: "train.py", script_content: script, experiment_name: "start-test", model_name: "start-test", requirements: [], timeout: 300 }),
  });
  return { status: res.status, body: (await res.json()) as { job_id?: string } };
}

async function jobEnds(api: string, jobId: string, headers: Record<string, string> = {}): Promise<{ status: string; error: string | null }> {
  for (let i = 0; i < 2_400; i++) {
    const res = await fetch(`${api}/mlops/training/jobs/${jobId}`, { headers }).catch(() => null);
    if (res?.status === 200) {
      const job = (await res.json()) as { status: string; error: string | null };
      if (["completed", "failed", "cancelled"].includes(job.status)) return job;
    }
    await sleep(250);
  }
  throw new Error(`job ${jobId} never ended`);
}

async function uploadAndComplete(api: string): Promise<void> {
  let sent = await upload(api);
  // Right after a dependency came back, the platform may still be reconnecting: a 503 says "retry".
  for (let i = 0; i < 240 && sent.status === 503; i++) {
    await sleep(500);
    sent = await upload(api);
  }
  expect(sent).toMatchObject({ status: 202 });
  const job = await jobEnds(api, sent.body.job_id!);
  expect(job).toMatchObject({ status: "completed", error: null });
}

interface Record_ {
  pid: number;
}
const record = async (dataDir: string, name: string): Promise<Record_ | null> =>
  JSON.parse(await readFile(join(dataDir, "run", `${name}.json`), "utf8").catch(() => "null")) as Record_ | null;

/** Waits until `name` runs again under a pid other than `before` (bounded by tries). */
async function restarted(dataDir: string, name: string, before: number): Promise<number> {
  for (let i = 0; i < 1_200; i++) {
    const now = await record(dataDir, name);
    if (now && now.pid !== before && procEntry(now.pid)) return now.pid;
    await sleep(250);
  }
  throw new Error(`${name} was not restarted`);
}

async function allGone(pids: number[]): Promise<number[]> {
  for (let i = 0; i < 240; i++) {
    const alive = pids.filter((p) => procEntry(p) !== null);
    if (alive.length === 0) return [];
    await sleep(250);
  }
  return pids.filter((p) => procEntry(p) !== null);
}

const urlOf = (output: string, label: string) => new RegExp(`${label}\\s+(\\S+)`).exec(output)?.[1];

describe("npm start", { timeout: 900_000 }, () => {
  const infra = inject("infra");
  let dataDir: string;
  let started: Started;
  let port: number;
  let mlflowPort: number;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(infra.workDir, "npm-start-"));
    port = await freePort();
    mlflowPort = await freePort();
    started = await npmStart(dataDir, port, mlflowPort, join(infra.workDir, "env-cache"));
  }, 600_000);

  afterAll(async () => {
    await started?.top.stop(30_000);
    await rm(dataDir, { recursive: true, force: true });
  });

  it("answers an upload sent the moment it prints 'Asgard is up' with 202, and runs the job", async () => {
    const first = await started.firstUpload;
    expect(first).toMatchObject({ status: 202 });
    expect(await jobEnds(started.api, first.body.job_id!)).toMatchObject({ status: "completed", error: null });
  });

  it("refuses a second start of the same data directory, naming the running one's pid", async () => {
    const owner = (await record(dataDir, "owner"))!.pid;
    let output = "";
    const second = spawnManaged({
      name: "second-start",
      command: process.execPath,
      args: [join(root, "packages", "cli", "bootstrap.mjs"), "start"],
      cwd: root,
      env: { ...withoutExternalServers(process.env), ASGARD_DATA_DIR: dataDir, PORT: String(await freePort()), LOG_LEVEL: "info" },
      onLine: (line) => (output += `${line}\n`),
    });
    expect(await second.exited).toBe(1);
    expect(output).toContain(`Asgard is already running from ${dataDir} (npm start, pid ${owner})`);
    // The running one is untouched and still serves.
    expect((await record(dataDir, "owner"))?.pid).toBe(owner);
    expect((await fetch(`${started.api}/readyz`)).status).toBe(200);
  });

  it("restarts a SIGKILLed nats-server on the same port, and jobs still complete", async () => {
    const natsUrl = urlOf(started.output(), "NATS");
    const before = (await record(dataDir, "nats-server"))!.pid;
    process.kill(before, "SIGKILL");
    const after = await restarted(dataDir, "nats-server", before);
    const commandLine = (await readFile(`/proc/${after}/cmdline`, "utf8")).split("\0");
    expect(`nats://127.0.0.1:${commandLine[commandLine.indexOf("-p") + 1]}`).toBe(natsUrl);
    await uploadAndComplete(started.api);
  });

  it("restarts a SIGKILLed MLflow on the same port with no worker of the old one left, and jobs still complete", async () => {
    const wrapper = (await record(dataDir, "mlflow"))!.pid;
    const oldTree = descendants(wrapper);
    // The server itself (the `mlflow server` process the user sees), not our wrapper around it.
    const server = oldTree.find((p) => procEntry(p)?.ppid === wrapper)!;
    process.kill(server, "SIGKILL");
    await restarted(dataDir, "mlflow", wrapper);
    expect(await allGone(oldTree)).toEqual([]);
    expect((await fetch(`http://127.0.0.1:${mlflowPort}/health`)).status).toBe(200);
    await uploadAndComplete(started.api);
  });

  it("a batch of jobs lives through SIGKILLs of the runner, the scheduler, nats-server and MLflow while it runs: every job completes", async () => {
    const jobs: string[] = [];
    for (let i = 0; i < 4; i++) {
      const sent = await upload(started.api, SLOW_SCRIPT);
      expect(sent.status).toBe(202);
      jobs.push(sent.body.job_id!);
    }
    const running = async () => {
      for (let i = 0; i < 1_200; i++) {
        const res = await fetch(`${started.api}/mlops/training/jobs?status=running&limit=1`).catch(() => null);
        if (res?.status === 200 && ((await res.json()) as { jobs: unknown[] }).jobs.length > 0) return;
        await sleep(250);
      }
      throw new Error("no job of the batch is running");
    };
    for (const name of ["python-runner", "job-scheduler", "nats-server", "mlflow"]) {
      await running();
      const before = (await record(dataDir, name))!.pid;
      // MLflow: the server itself, as a crash would take it, not our wrapper around it.
      const victim = name === "mlflow" ? descendants(before).find((p) => procEntry(p)?.ppid === before)! : before;
      process.kill(victim, "SIGKILL");
      await restarted(dataDir, name, before);
    }
    const done = await Promise.all(jobs.map((id) => jobEnds(started.api, id)));
    expect(done.map((j) => j.status)).toEqual(["completed", "completed", "completed", "completed"]);
  });

  it("leaves no process behind when its top process is SIGKILLed", async () => {
    const tree = descendants(started.top.pid);
    expect(tree.length).toBeGreaterThan(8);
    process.kill(started.top.pid, "SIGKILL");
    expect(await allGone(tree)).toEqual([]);
  });

  it("starts again after an earlier run left a job-scheduler holding the embedded database", async () => {
    // An orphan as the issue found it: a scheduler of this data directory whose parent is gone.
    const orphan = spawn(process.execPath, [...FROM_SOURCES, join(root, "services", "job-scheduler", "src", "main.ts")], {
      cwd: root,
      env: { ...process.env, ASGARD_DATA_DIR: dataDir, NATS_URL: "nats://127.0.0.1:1", LOG_LEVEL: "warn" },
      detached: true,
      stdio: "ignore",
    });
    orphan.unref();
    const lock = join(dataDir, "jobs-db.lock");
    for (let i = 0; i < 600 && (await lockHolder(lock)) !== orphan.pid; i++) await sleep(100);
    expect(await lockHolder(lock)).toBe(orphan.pid);

    started = await npmStart(dataDir, port, mlflowPort, join(infra.workDir, "env-cache"));
    expect(started.output()).toContain(`Stopped job-scheduler (pid ${orphan.pid}) holding the embedded database`);
    expect(procEntry(orphan.pid!)).toBeNull();
    const first = await started.firstUpload;
    expect(first).toMatchObject({ status: 202 });
    expect(await jobEnds(started.api, first.body.job_id!)).toMatchObject({ status: "completed", error: null });
  });
});

// Two starts on a fresh data directory, each with its first job: the slowest test of the file.
describe("npm start with API keys", { timeout: 1_800_000 }, () => {
  const infra = inject("infra");
  let dataDir: string;
  let started: Started | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(infra.workDir, "npm-start-keys-"));
  });

  afterAll(async () => {
    await started?.top.stop(30_000);
    await rm(dataDir, { recursive: true, force: true });
  });

  /** What MLflow answers a client without credentials, and a job's outcome uploaded with the key. */
  async function mlflowRefusesAnonymousAndJobsRun(key: string, mlflowPort: number): Promise<void> {
    const mlflow = `http://127.0.0.1:${mlflowPort}`;
    const anonymous = await fetch(`${mlflow}/api/2.0/mlflow/experiments/search?max_results=1`);
    expect(anonymous.status).toBe(401);
    const auth = { authorization: `Bearer ${key}` };
    const sent = await upload(started!.api, SCRIPT, auth);
    expect(sent).toMatchObject({ status: 202 });
    expect(await jobEnds(started!.api, sent.body.job_id!, auth)).toMatchObject({ status: "completed", error: null });
  }

  it("runs MLflow with basic auth when a bootstrap key is set, and again on the next start without it (the key is stored)", async () => {
    const { key } = newApiKey();
    const envCache = join(infra.workDir, "env-cache");
    let mlflowPort = await freePort();
    started = await npmStart(dataDir, await freePort(), mlflowPort, envCache, { BOOTSTRAP_ADMIN_KEY: key });
    await mlflowRefusesAnonymousAndJobsRun(key, mlflowPort);
    await started.top.stop(30_000);

    mlflowPort = await freePort();
    started = await npmStart(dataDir, await freePort(), mlflowPort, envCache);
    await mlflowRefusesAnonymousAndJobsRun(key, mlflowPort);
  });
});
