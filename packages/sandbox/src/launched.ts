import type { ChildProcess } from "node:child_process";
import type { CgroupReport } from "./cgroups.js";

/**
 * MLflow for the script: a proxy on the host forwards to `url`, scoped to `workspace`, and
 * the script reaches it at `http://127.0.0.1:<port>` inside its network namespace, which
 * `MLFLOW_TRACKING_URI` is set to.
 */
export interface MlflowAccess {
  /** The real tracking server, `http(s)://host[:port][/prefix]`, without credentials. */
  url: string;
  /** The MLflow workspace (tenant) of every request the script makes, whatever it sends. */
  workspace: string;
  /** The port inside the sandbox; default 5000, MLflow's own. */
  port: number;
  /** The tenant's MLflow user, on a server with basic auth; null without. */
  credentials: { username: string; password: string } | null;
}

/** What a mode's launcher hands to the common run loop in spawn.ts. */
export interface Launched {
  child: ChildProcess;
  /** SIGTERM to the script and its descendants. */
  terminate(): void;
  /** SIGKILL to everything the job started. */
  destroy(): void;
  /** Host pids of the command and what it started (bwrap's reaper excluded); empty once ended. */
  processIds(): Promise<number[]>;
  /**
   * Once the spawned process exited: removes whatever the run left behind, and reports what
   * the kernel recorded about its limits and any failure to set the sandbox up.
   */
  afterExit(): Promise<CgroupReport & { setupError: unknown }>;
}
