import type { RunnerIsolation } from "@asgard/contracts";
import type { SandboxMode } from "@asgard/sandbox";
import type { LogBatchOptions, LogRateOptions } from "./log-batcher.js";

/** What a runner replica needs to know, resolved once in main.ts. */
export interface RunnerConfig {
  runnerId: string;
  /** Jobs this replica runs at once; each slot pulls one message at a time. */
  slots: number;
  /** The URL jobs are given as MLFLOW_TRACKING_URI. */
  trackingUri: string;
  /** Parent of the per-attempt working directories. */
  workRoot: string;
  sandboxMode: SandboxMode;
  sandboxUid: number;
  sandboxGid: number;
  /** Scripts get outbound internet (RUNNER_JOB_INTERNET). */
  internet: boolean;
  /** How this replica isolates scripts, as its heartbeat reports it. */
  isolation: RunnerIsolation;
  /** Prefix of the interpreter every env is built from; bound read-only into the sandbox. */
  basePythonPrefix: string;
  /** Folder holding the platform's sitecustomize.py. */
  platformPythonPath: string;
  /** SIGTERM → SIGKILL grace on timeout and cancel. */
  killGraceMs: number;
  heartbeatMs: number;
  /** On SIGTERM: how long running attempts may go on before they are handed back. */
  shutdownGraceMs: number;
  /** `working()` period; below the consumer's AckWait. */
  workingMs: number;
  logBatch: LogBatchOptions;
  /** Rate cap on each attempt's output. */
  logRate: LogRateOptions;
}
