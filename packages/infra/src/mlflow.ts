import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { freePort } from "./ports.js";
import { spawnManaged, waitUntilReady, type DeathTie, type ManagedProcess } from "./process.js";
import { ensureMlflowVenv } from "./tools.js";

export interface MlflowServer {
  url: string;
  port: number;
  process: ManagedProcess;
  stop(): Promise<void>;
}

export interface MlflowServerOptions {
  /** SQLAlchemy URI of the backend store (sqlite:///… or postgresql://…). */
  backendStoreUri: string;
  /** Where proxied artifacts land: a local folder or s3://bucket/prefix. */
  artifactsDestination: string;
  port?: number;
  /** Extra environment for the server only (e.g. S3 credentials); never logged. */
  env?: Record<string, string>;
  logFile?: string;
  startTimeoutMs?: number;
  dieWithParent?: DeathTie;
}

/**
 * Starts an MLflow 3 tracking server with proxied artifacts, from the managed virtualenv.
 * Only this process gets artifact-store credentials: clients upload through it.
 */
export async function startMlflowServer(options: MlflowServerOptions): Promise<MlflowServer> {
  const venv = await ensureMlflowVenv();
  if (!options.artifactsDestination.includes("://")) {
    await mkdir(options.artifactsDestination, { recursive: true });
  }
  const port = options.port ?? (await freePort());
  const proc = spawnManaged({
    name: "mlflow",
    command: join(venv, "bin", "mlflow"),
    args: [
      "server",
      "--host", "127.0.0.1",
      "--port", String(port),
      "--workers", "1",
      "--backend-store-uri", options.backendStoreUri,
      "--serve-artifacts",
      "--artifacts-destination", options.artifactsDestination,
    ],
    env: {
      PATH: `${join(venv, "bin")}:${process.env.PATH ?? ""}`,
      HOME: process.env.HOME ?? "/tmp",
      LANG: "C.UTF-8",
      // MLflow 3's server-side job runner (huey consumers for GenAI scorers) is not used by the
      // platform; it would keep ~40 worker threads polling on a 2-core machine.
      MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false",
      ...options.env,
    },
    logFile: options.logFile,
    dieWithParent: options.dieWithParent,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilReady(proc, `MLflow server on port ${port}`, async () => {
    const res = await fetch(`${url}/health`);
    return res.ok;
  }, options.startTimeoutMs ?? 120_000, 250);
  return { url, port, process: proc, stop: () => proc.stop(10_000) };
}
