import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { natsStreamOwners, SERVICE_ROLES } from "@asgard/contracts";
import { freePort, localNatsAuth, natsClientEnv, startNatsServer, type ManagedProcess, type NatsAuth, type NatsServer } from "@asgard/infra";
import { createScratchDatabase } from "./postgres.js";
import { pollUntil, startServiceProcess } from "./services.js";
import type { TestInfra } from "./infra.js";

export type ServiceProcess = ManagedProcess & { output: () => string };

/**
 * The whole platform as separate processes started from their real entry points, on a
 * private NATS and database, against the run's MLflow (or another one).
 */
export interface Platform {
  api: string;
  natsUrl: string;
  mlflowUrl: string;
  dir: string;
  /** What every service gets, without NATS credentials (each gets its own user's). */
  env: Record<string, string>;
  /** The NATS users' passwords of this platform (tests connect as one to check its rights). */
  natsAuth: NatsAuth;
  services: Map<string, ServiceProcess>;
  runners: ServiceProcess[];
  /** Starts one more runner replica (its own RUNNER_ID). */
  addRunner(extra?: Record<string, string>): Promise<ServiceProcess>;
  /** Restarts a service process (same environment). */
  restart(name: string): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

export interface PlatformOptions {
  runners?: number;
  mlflowUrl?: string;
  /** Extra environment for every service. */
  env?: Record<string, string>;
  /** Extra environment for runners only. */
  runnerEnv?: Record<string, string>;
  services?: string[];
}

export async function startPlatform(infra: TestInfra, options: PlatformOptions = {}): Promise<Platform> {
  const dir = await mkdtemp(join(infra.workDir, "platform-"));
  // Every service connects as its own user; a client without credentials is refused.
  const natsAuth = await localNatsAuth(dir);
  const nats: NatsServer = await startNatsServer({ storeDir: join(dir, "nats"), auth: natsAuth });
  const start = (name: string, serviceEnv: Record<string, string>) =>
    startServiceProcess(name, { ...natsClientEnv(natsAuth, name), ...serviceEnv });
  const port = await freePort();
  let dropDatabase: (() => Promise<void>) | null = null;
  const mlflowUrl = options.mlflowUrl ?? infra.mlflowUrl;
  const env: Record<string, string> = {
    NATS_URL: nats.url,
    MLFLOW_TRACKING_URI: mlflowUrl,
    PORT: String(port),
    HOST: "127.0.0.1",
    ASGARD_DATA_DIR: dir,
    // Jobs share one environment cache across the run so warm jobs stay warm between test files.
    ENV_CACHE_DIR: join(infra.workDir, "env-cache"),
    STATUS_INTERVAL_MS: "1000",
    STATUS_PROBE_TIMEOUT_MS: "900",
    MIN_TIMEOUT_SECONDS: "1",
    LOG_LEVEL: "info",
    // `npm run check:fresh` runs these tests against a fresh resolution and an empty uv cache.
    ...Object.fromEntries(["ENV_CONSTRAINTS", "UV_CACHE_DIR"].flatMap((k) => (process.env[k] ? [[k, process.env[k]]] : []))),
    ...options.env,
  };
  if (infra.databaseUrl) {
    const scratch = await createScratchDatabase(infra.databaseUrl, "asgard_platform");
    env.DATABASE_URL = scratch.url;
    dropDatabase = scratch.drop;
  }
  const services = new Map<string, ServiceProcess>();
  const runners: ServiceProcess[] = [];
  let runnerCount = 0;
  const names = withStreamOwners(options.services ?? ["job-scheduler", "registry", "gateway"], options.runners ?? 1);
  for (const name of names) services.set(name, start(name, env));

  const addRunner = async (extra: Record<string, string> = {}) => {
    runnerCount += 1;
    const runner = start("python-runner", {
      ...env,
      RUNNER_ID: `runner-${runnerCount}`,
      RUNNER_HEARTBEAT_MS: "1000",
      RUNNER_KILL_GRACE_MS: "1000",
      ...options.runnerEnv,
      ...extra,
    });
    runners.push(runner);
    return runner;
  };
  for (let i = 0; i < (options.runners ?? 1); i++) await addRunner();

  const api = `http://127.0.0.1:${port}`;
  await pollUntil(`${api}/healthz`, (s) => s === 200, 600);
  // The job-scheduler answers through the gateway once its migrations ran and it serves.
  if (names.includes("job-scheduler")) await pollUntil(`${api}/mlops/training/jobs?limit=1`, (s) => s === 200, 600);
  return {
    api,
    natsUrl: nats.url,
    mlflowUrl,
    dir,
    env,
    natsAuth,
    services,
    runners,
    addRunner,
    async restart(name: string) {
      await services.get(name)?.stop();
      const proc = start(name, env);
      services.set(name, proc);
      return proc;
    },
    async stop() {
      for (const r of runners) await r.stop();
      for (const s of [...services.values()].reverse()) await s.stop();
      await nats.stop();
      await dropDatabase?.();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until the job reaches one of `statuses` (bounded by tries, not by a time assertion). */
export async function waitForJob<T extends { status: string }>(
  api: string,
  jobId: string,
  statuses: string[],
  tries = 1_200,
): Promise<T> {
  const { body } = await pollUntil<T>(`${api}/mlops/training/jobs/${jobId}`, (s, b) => s === 200 && statuses.includes(b.status), tries, 250);
  return body;
}

/**
 * The services asked for, plus the owner of every stream they (or runners) use: a service waits
 * at start-up until a stream's one owner has made it, as in any deployment, where the owner
 * always runs. So a platform of registry, inference and gateway gets its job-scheduler too.
 */
export function withStreamOwners(names: readonly string[], runners: number): string[] {
  const owners = natsStreamOwners();
  const wanted = new Set(names);
  const users = runners > 0 ? [...names, "python-runner"] : names;
  for (const name of users) {
    const role = (SERVICE_ROLES as Record<string, { uses: readonly { name: string }[] } | undefined>)[name];
    for (const stream of role?.uses ?? []) {
      const owner = owners.get(stream.name);
      if (owner) wanted.add(owner);
    }
  }
  return [...wanted];
}
