import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { DEFAULT_SANDBOX_ID } from "@asgard/sandbox";
import { TOOL_VERSIONS } from "@asgard/tools";
import type { WorkerSandbox } from "./worker-process.js";

/** Settings of the inference service; main.ts reads them from the environment. */
export interface InferenceConfig {
  /** This replica's id in signals (its own signals are not acted on twice). */
  instanceId: string;
  /** Model files and worker home directories live below it. */
  dataDir: string;
  /** The Python worker script. */
  workerScript: string;
  /**
   * Largest batch, in rows. Requests queue while a batch is in the worker; a batch goes when
   * it is full, when the worker is idle and as many requests wait as were outstanding in the
   * last cycle, when arrivals pause for 2 ms, or after `maxWaitMs` of idle worker — whichever
   * comes first (see MicroBatcher).
   */
  maxBatchRows: number;
  /**
   * Longest the worker is left idle to let a batch fill (0 = never wait). Only spent when the
   * last cycle saw concurrent requests, so a lone client never waits for company. Too short a
   * wait splits closed-loop clients into two alternating half-sized batches; the default is
   * the value `npm run bench inference` measures (its batch sizes are in its results).
   */
  maxWaitMs: number;
  /** Resident memory all model workers together may use; least recently used idle models are unloaded beyond it. */
  memoryBudgetBytes: number;
  /** Pause before a model that failed to load is tried again; doubles per failure up to `maxLoadBackoffMs`. */
  loadBackoffMs: number;
  maxLoadBackoffMs: number;
  /** How long a request waits for its model to load before it gets a retryable 503. */
  loadWaitMs: number;
  /** A worker that takes longer for one batch is killed and replaced. */
  predictTimeoutMs: number;
  /** Longest a worker may take to import and load a model. */
  workerLoadTimeoutMs: number;
  /** How long `latest` and aliases stay resolved without an event saying they moved. */
  resolveTtlMs: number;
  /** Load new versions and alias targets as soon as the registry announces them. */
  warmOnRegister: boolean;
  /**
   * Take an existing environment whose resolved packages satisfy every requirement the model
   * logged (MLflow logs the training env's exact versions, so the job's env usually does)
   * instead of building one: a registered model answers in seconds, not after a build.
   */
  reuseEnvs: boolean;
  /** Registry events older than this are not warmed (the service was down; load on demand). */
  maxEventAgeMs: number;
  /** Largest model (all its files) that is downloaded. */
  maxModelBytes: number;
  /** Grace between closing a worker's input and killing it and everything it started. */
  workerStopGraceMs: number;
  /** How each worker is confined; `limits` apply per worker. */
  sandbox: WorkerSandbox;
  /**
   * `onnx`: after a version's first prediction, convert scikit-learn, LightGBM and XGBoost
   * models to ONNX in the sandbox, check parity, and serve them from ONNX Runtime (the Python
   * path stays when any step fails, with the reason in the model's status). `off`: Python only.
   */
  compile: CompileMode;
  /** The converter environment's requirements (pinned), layered over each model's environment. */
  compileTools: string[];
  /** Longest a conversion with its parity check may take before the Python path is kept. */
  compileTimeoutMs: number;
}

export const COMPILE_MODES = ["off", "onnx"] as const;
export type CompileMode = (typeof COMPILE_MODES)[number];

/** The converters and ONNX Runtime at the platform's pinned versions. */
export const COMPILE_TOOLS = [
  `skl2onnx==${TOOL_VERSIONS.skl2onnx}`,
  `onnxmltools==${TOOL_VERSIONS.onnxmltools}`,
  `onnx==${TOOL_VERSIONS.onnx}`,
  `onnxruntime==${TOOL_VERSIONS.onnxruntime}`,
];

/**
 * Limits of one worker, suited to serving: a model's memory (its whole sandbox, /tmp
 * included), BLAS and framework threads, no large files (a worker writes only scratch).
 */
export const DEFAULT_WORKER_LIMITS = {
  memoryBytes: 4 * 1024 ** 3,
  pids: 256,
  fileSizeBytes: 256 * 1024 ** 2,
  openFiles: 1024,
  tmpBytes: 256 * 1024 ** 2,
  shmBytes: 256 * 1024 ** 2,
} as const;

export const DEFAULT_CONFIG: Omit<InferenceConfig, "instanceId" | "dataDir"> = {
  workerScript: fileURLToPath(new URL("./python/worker.py", import.meta.url)),
  maxBatchRows: 256,
  maxWaitMs: 5,
  memoryBudgetBytes: 4 * 1024 ** 3,
  loadBackoffMs: 5_000,
  maxLoadBackoffMs: 5 * 60_000,
  loadWaitMs: 30_000,
  predictTimeoutMs: 30_000,
  workerLoadTimeoutMs: 5 * 60_000,
  resolveTtlMs: 30_000,
  warmOnRegister: true,
  reuseEnvs: true,
  maxEventAgeMs: 10 * 60_000,
  maxModelBytes: 2 * 1024 ** 3,
  workerStopGraceMs: 2_000,
  sandbox: { mode: "bwrap", uid: DEFAULT_SANDBOX_ID, gid: DEFAULT_SANDBOX_ID, limits: DEFAULT_WORKER_LIMITS },
  compile: "onnx",
  compileTools: COMPILE_TOOLS,
  compileTimeoutMs: 10 * 60_000,
};

export function resolveConfig(overrides: Partial<InferenceConfig> & { dataDir: string }): InferenceConfig {
  return { ...DEFAULT_CONFIG, instanceId: `inference-${randomUUID().slice(0, 8)}`, ...overrides };
}
