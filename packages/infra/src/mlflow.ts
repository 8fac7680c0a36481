import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { ensureMlflowVenv, writePrivateFile } from "@asgard/tools";
import { freePort } from "./ports.js";
import { spawnManaged, waitUntilReady, type DeathTie, type ManagedProcess } from "./process.js";

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
  /**
   * Serve each tenant as a workspace (`--enable-workspaces`, default true). False starts the
   * server as releases before tenants did: tests of data made then use it.
   */
  workspaces?: boolean;
  /** MLflow's basic-auth app (keyed mode); omitted, the server has no auth (local mode). */
  auth?: MlflowAuthOptions;
  port?: number;
  /** Extra environment for the server only (e.g. S3 credentials); never logged. */
  env?: Record<string, string>;
  logFile?: string;
  startTimeoutMs?: number;
  dieWithParent?: DeathTie;
}

export interface MlflowAuthOptions {
  /** The admin user, created at the first start; never MLflow's old default password. */
  admin: { username: string; password: string };
  /** Flask's key for sessions and CSRF tokens; the same on every replica. */
  secretKey: string;
  /** SQLAlchemy URI of the users and permissions store (sqlite:///… or postgresql://…). */
  databaseUri: string;
  /** Directory for the auth config file (0600: the database URI may hold a password). */
  configDir: string;
}

/**
 * The auth app's config. Nobody may do anything unless granted; the credential cache spares a
 * password hash (scrypt) on every request, and its staleness (a changed password keeps working
 * on other workers up to the TTL) is bounded by the TTL.
 */
export function mlflowAuthConfig(databaseUri: string): string {
  return [
    "[mlflow]",
    "default_permission = NO_PERMISSIONS",
    // configparser interpolates `%`: a percent-encoded URI must double it.
    `database_uri = ${databaseUri.replaceAll("%", "%%")}`,
    "authorization_function = mlflow.server.auth:authenticate_request_basic_auth",
    "grant_default_workspace_access = false",
    "auth_cache_ttl_seconds = 60",
    "auth_cache_max_size = 10000",
    "",
  ].join("\n");
}

async function authArgsAndEnv(auth: MlflowAuthOptions | undefined): Promise<{ args: string[]; env: Record<string, string> }> {
  if (auth === undefined) return { args: [], env: {} };
  await mkdir(auth.configDir, { recursive: true, mode: 0o700 });
  const configPath = join(auth.configDir, "mlflow-auth.ini");
  await writePrivateFile(configPath, mlflowAuthConfig(auth.databaseUri));
  return {
    args: ["--app-name", "basic-auth"],
    env: {
      MLFLOW_AUTH_CONFIG_PATH: configPath,
      MLFLOW_AUTH_ADMIN_USERNAME: auth.admin.username,
      MLFLOW_AUTH_ADMIN_PASSWORD: auth.admin.password,
      MLFLOW_FLASK_SERVER_SECRET_KEY: auth.secretKey,
    },
  };
}

/**
 * `mlflow server` with one change: its CLI process becomes the uvicorn server (exec) instead of
 * starting it as a child and waiting for it. The CLI imports all of MLflow only to prepare the
 * store and build uvicorn's command line; kept alive, it holds about as much memory as the
 * server itself, for nothing.
 * Only while MLflow's job runner is off (always, as we start it): with it on, the CLI process
 * also supervises the runner and must stay. The pid stays the same, so the death ties hold.
 */
const MLFLOW_SERVER_EXEC = [
  "import os, sys",
  "import mlflow.server",
  "from mlflow.cli import cli",
  "spawn = mlflow.server._exec_cmd",
  "def become(cmd, *, extra_env=None, **kwargs):",
  "    if os.environ.get('MLFLOW_SERVER_ENABLE_JOB_EXECUTION', '').lower() != 'false':",
  "        return spawn(cmd, extra_env=extra_env, **kwargs)",
  "    os.execvpe(cmd[0], cmd, {**os.environ, **(extra_env or {})})",
  "mlflow.server._exec_cmd = become",
  "sys.argv[0] = 'mlflow'",
  "sys.exit(cli())",
].join("\n");

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
  const auth = await authArgsAndEnv(options.auth);
  const proc = spawnManaged({
    name: "mlflow",
    command: join(venv, "bin", "python"),
    args: [
      "-c", MLFLOW_SERVER_EXEC,
      "server",
      "--host", "127.0.0.1",
      "--port", String(port),
      "--workers", "1",
      "--backend-store-uri", options.backendStoreUri,
      "--serve-artifacts",
      "--artifacts-destination", options.artifactsDestination,
      // Each tenant is a workspace; requests that name none land in `default`, where
      // everything made before tenants existed lives.
      ...(options.workspaces === false ? [] : ["--enable-workspaces"]),
      ...auth.args,
    ],
    env: {
      PATH: `${join(venv, "bin")}:${process.env.PATH ?? ""}`,
      HOME: process.env.HOME ?? "/tmp",
      LANG: "C.UTF-8",
      // MLflow 3's server-side job runner (huey consumers for GenAI scorers) is not used by the
      // platform; it would keep ~40 worker threads polling on a 2-core machine.
      MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false",
      ...options.env,
      ...auth.env,
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
