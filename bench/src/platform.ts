import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort, spawnManaged, startMlflowServer, startNatsServer, type ManagedProcess, type MlflowServer, type MlflowServerOptions, type NatsServer } from "@asgard/infra";
import { FROM_SOURCES } from "@asgard/test-support";
import { call, callJson } from "./http.js";
import { JOB_SCRIPT_NAME, type BenchJob, type JobSide } from "./job-side.js";

/** Starts one service's real `main.ts` as its own process, as `npm start` does. */
export function startService(name: string, env: Record<string, string>, logDir: string): ManagedProcess {
  return spawnManaged({
    name,
    command: process.execPath,
    args: [...FROM_SOURCES, join(process.cwd(), "services", name, "src", "main.ts")],
    env: { ...process.env, LOG_LEVEL: "warn", ...env },
    logFile: join(logDir, `${name}.log`),
  });
}

/**
 * Polls `url` until `check` passes. The default allows 5 minutes: services started from
 * source need more than a minute to come up when the shared machine's load is high.
 */
export async function waitFor(url: string, check: (res: Response) => Promise<boolean> | boolean, tries = 3_000): Promise<void> {
  for (let i = 0; i < tries; i++) {
    try {
      const res = await fetch(url);
      if (await check(res)) return;
    } catch {
      /* not up yet */
    }
    await sleep(100);
  }
  throw new Error(`${url} never satisfied the check`);
}

export { freePort };

/** MLflow in a scratch directory: a SQLite store and local artifacts, its log beside them. */
export function scratchMlflowOptions(dir: string): MlflowServerOptions {
  return {
    backendStoreUri: `sqlite:///${join(dir, "mlflow", "mlflow.db")}`,
    artifactsDestination: join(dir, "mlflow", "artifacts"),
    logFile: join(dir, "mlflow.log"),
  };
}

/** nats-server and MLflow in a scratch directory; pushes their stops onto `stops` (run in reverse). */
export async function startNatsAndMlflow(dir: string, stops: Array<() => Promise<void>>): Promise<{ nats: NatsServer; mlflow: MlflowServer }> {
  const nats = await startNatsServer({ storeDir: join(dir, "nats") });
  stops.push(() => nats.stop());
  const mlflow = await startMlflowServer(scratchMlflowOptions(dir));
  stops.push(() => mlflow.stop());
  return { nats, mlflow };
}

/** nats + MLflow + the named services as processes, in a scratch directory; for benchmarks. */
export interface BenchPlatform {
  api: string;
  mlflowUrl: string;
  natsUrl: string;
  dir: string;
  env: Record<string, string>;
  start(name: string, extra?: Record<string, string>): ManagedProcess;
  /** The services started so far, by name (runners by their RUNNER_ID). */
  processes: Record<string, ManagedProcess>;
  stop(): Promise<void>;
}

export async function startBenchPlatform(options: {
  services: string[];
  env?: Record<string, string>;
  databaseUrl?: string | null;
}): Promise<BenchPlatform> {
  const { mkdtemp, rm } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const dir = await mkdtemp(join(tmpdir(), "asgard-bench-"));
  const stops: Array<() => Promise<void>> = [];
  const { nats, mlflow } = await startNatsAndMlflow(dir, stops);
  const port = await freePort();
  const env: Record<string, string> = {
    NATS_URL: nats.url,
    MLFLOW_TRACKING_URI: mlflow.url,
    PORT: String(port),
    HOST: "127.0.0.1",
    ASGARD_DATA_DIR: dir,
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    ...options.env,
  };
  let runners = 0;
  const processes: Record<string, ManagedProcess> = {};
  const start = (name: string, extra: Record<string, string> = {}) => {
    const id: Record<string, string> = name === "python-runner" ? { RUNNER_ID: `bench-runner-${++runners}` } : {};
    const proc = startService(name, { ...env, ...id, ...extra }, dir);
    processes[id.RUNNER_ID && runners > 1 ? id.RUNNER_ID : name] = proc;
    stops.push(() => proc.stop());
    return proc;
  };
  for (const name of options.services) start(name);
  const api = `http://127.0.0.1:${port}`;
  // Services run from their sources under tsx; on a loaded machine a fresh embedded database alone can take minutes.
  await waitFor(`${api}/healthz`, (r) => r.ok, 3_000);
  if (options.services.includes("job-scheduler")) await waitFor(`${api}/mlops/training/jobs?limit=1`, (r) => r.ok, 3_000);
  return {
    api,
    mlflowUrl: mlflow.url,
    natsUrl: nats.url,
    dir,
    env,
    start,
    processes,
    async stop() {
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface JobView {
  job_id: string;
  status: string;
  phase: string | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  logs: string;
}

export async function submit(api: string, body: Record<string, unknown>): Promise<JobView> {
  const res = await fetch(`${api}/mlops/training/upload`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (res.status !== 202) throw new Error(`upload answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as JobView;
}

export async function waitForTerminal(api: string, jobId: string): Promise<JobView> {
  for (let i = 0; i < 24_000; i++) {
    const res = await fetch(`${api}/mlops/training/jobs/${jobId}`);
    const job = (await res.json()) as JobView;
    if (["completed", "failed", "cancelled"].includes(job.status)) return job;
    await sleep(25);
  }
  throw new Error(`job ${jobId} never finished`);
}

/**
 * Our platform as a side of a peer comparison: the job goes to /mlops/training/upload; it is
 * `running` once the runner reports the script started (environment ready, as Ray's RUNNING),
 * not when a runner claims it.
 */
export function ourJobSide(api: string, job: BenchJob & { experiment: string }): JobSide {
  const body = JSON.stringify({
    script_name: JOB_SCRIPT_NAME,
    script_content: Buffer.from(job.script).toString("base64"),
    experiment_name: job.experiment,
    model_name: job.experiment,
    requirements: job.requirements,
    timeout: 600,
  });
  const view = (id: string) => callJson<JobView>("GET", `${api}/mlops/training/jobs/${id}`);
  return {
    async submit() {
      const res = await call("POST", `${api}/mlops/training/upload`, body);
      if (res.status !== 202) throw new Error(`upload answered ${res.status}: ${res.text}`);
      return (JSON.parse(res.text) as JobView).job_id;
    },
    async phase(id) {
      const { status, phase } = await view(id);
      if (status === "completed") return "done";
      if (status === "queued") return "queued";
      if (status !== "running") return "failed";
      return phase === "running" || phase === "registering" ? "running" : "queued";
    },
    async describe(id) {
      const j = await view(id);
      return `${j.status}\n${j.logs}`;
    },
  };
}

/** `npm start` as a user runs it (bootstrap.mjs: build, then the built launcher), in a data directory of its own. */
export interface NpmStart {
  top: ManagedProcess;
  api: string;
  mlflowUrl: string;
  dataDir: string;
  output: () => string;
}

export async function npmStart(opts: { dataDir: string; env?: Record<string, string> }): Promise<NpmStart> {
  const { DATABASE_URL: _db, NATS_URL: _nats, MLFLOW_TRACKING_URI: _mlflow, ...inherited } = process.env;
  const port = await freePort();
  let output = "";
  let up: () => void = () => undefined;
  const isUp = new Promise<void>((resolve) => (up = resolve));
  const top = spawnManaged({
    name: "npm-start",
    command: process.execPath,
    args: [join(process.cwd(), "packages", "cli", "bootstrap.mjs"), "start"],
    env: { ...inherited, ASGARD_DATA_DIR: opts.dataDir, PORT: String(port), MLFLOW_PORT: String(await freePort()), ...opts.env },
    onLine: (line) => {
      output += `${line}\n`;
      // The last line of the banner that follows "Asgard is up.", so the URLs are in `output`.
      if (line === "Press Ctrl-C to stop.") up();
    },
  });
  const exited = top.exited.then((code) => {
    throw new Error(`npm start exited with ${code}:\n${output.slice(-3000)}`);
  });
  await Promise.race([isUp, exited]);
  // The launcher prints the MLflow it started ("  MLflow     http://127.0.0.1:<port>").
  const mlflowUrl = /^\s+MLflow\s+(http\S+)/m.exec(output)?.[1];
  if (!mlflowUrl) throw new Error(`npm start printed no MLflow URL:\n${output}`);
  return { top, api: `http://127.0.0.1:${port}`, mlflowUrl, dataDir: opts.dataDir, output: () => output };
}
