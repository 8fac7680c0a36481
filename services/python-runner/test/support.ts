import { execFileSync } from "node:child_process";
import { cpSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { inject } from "vitest";
import { connectBus, type Bus, type ConsumedMessage } from "@asgard/bus";
import { EVENTS, STREAMS, type ConsumerDef, type JobLog, type RunCompleted } from "@asgard/contracts";
import { startNatsServer, type NatsServer } from "@asgard/infra";
import { createMlflowClient, type MlflowClient } from "@asgard/mlflow";
import type { EnvLease, PyEnvManager } from "@asgard/pyenv";
import { createLogger, createMetricsRegistry, newTrace, traceHeaders } from "@asgard/telemetry";
import type { AttemptContext, Granted, LogSink } from "../src/attempt-steps.js";
import type { RunnerConfig } from "../src/config.js";
import type { HeldJob } from "../src/held-jobs.js";
import { createRunnerMetrics } from "../src/metrics.js";
import type { ProgressReporter } from "../src/progress.js";

export const logger = createLogger("python-runner-test", "silent");
export const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 12)}`;

/** The python3 on PATH (a prerequisite of the platform), as an environment for steps that run a script. */
export function systemPythonLease(): EnvLease {
  const out = execFileSync("python3", ["-c", "import sys; print(sys.executable); print(sys.base_prefix)"], { encoding: "utf8" }).trim().split("\n");
  const [python = "", prefix = ""] = out;
  return {
    requestKey: "system",
    envKey: "system-python-environment",
    path: prefix,
    python,
    binDir: join(python, ".."),
    lockHit: true,
    envHit: true,
    reused: false,
    release: async () => undefined,
  };
}

/** A pyenv that hands out `lease`, or fails with `error`: the environment step's collaborator. */
export function fakePyEnv(result: { lease: EnvLease } | { error: Error }): Pick<PyEnvManager, "acquire"> & { released: number } {
  const fake = {
    released: 0,
    async acquire(_requirements: string[], o?: { onLog?: (line: string) => void }) {
      o?.onLog?.("resolving (fake)");
      if ("error" in result) throw result.error;
      return { ...result.lease, release: async () => void fake.released++ };
    },
  };
  return fake;
}

/** Records what the steps write to the job's log. */
export class RecordingLogs implements LogSink {
  readonly lines: Array<{ stream: string; text: string }> = [];
  line(stream: JobLog["lines"][number]["stream"], text: string): void {
    this.lines.push({ stream, text });
  }
  system(text: string): void {
    this.line("system", text);
  }
  text(stream?: string): string {
    return this.lines.filter((l) => !stream || l.stream === stream).map((l) => l.text).join("\n");
  }
}

export function claimFor(overrides: Partial<Granted> = {}): Granted {
  return {
    granted: true,
    job_id: randomUUID(),
    tenant: "default",
    attempt: 1,
    script_name: "train.py",
    script_b64: Buffer.from('print("hello from the job")\n').toString("base64"),
    experiment_name: unique("runner-steps"),
    model_name: "model",
    requirements: [],
    environment_vars: {},
    tags: {},
    timeout_seconds: 60,
    previous_run_id: null,
    ...overrides,
  };
}

export function heldFor(claim: Granted): HeldJob {
  return { jobId: claim.job_id, attempt: claim.attempt, phase: "building_env", abort: new AbortController(), cancelReason: null };
}

/**
 * The runner's platform Python folder, as the script sees it: a copy in `workRoot`, so the
 * interpreter's bytecode cache lands there and never in the source tree.
 */
const platformPython = (workRoot: string) => {
  const copy = join(workRoot, "platform-python");
  cpSync(join(import.meta.dirname, "..", "src", "python"), copy, { recursive: true });
  return copy;
};

export function runnerConfig(workRoot: string, overrides: Partial<RunnerConfig> = {}): RunnerConfig {
  return {
    runnerId: unique("runner"),
    slots: 1,
    trackingUri: inject("infra").mlflowUrl,
    workRoot,
    sandboxMode: "process-group",
    sandboxUid: process.getuid?.() ?? 0,
    sandboxGid: process.getgid?.() ?? 0,
    internet: false,
    isolation: { mode: "process-group", cgroups: "none", seccomp: false, internet: true },
    basePythonPrefix: "/usr",
    platformPythonPath: platformPython(workRoot),
    killGraceMs: 1_000,
    heartbeatMs: 1_000,
    shutdownGraceMs: 1_000,
    workingMs: 5_000,
    logBatch: { maxLines: 100, maxBytes: 64 * 1024, minIntervalMs: 10, storedWaitMs: 200, unstoredBatches: 2, burstWaitMs: 5, bufferBytes: 8 * 1024 * 1024 },
    logRate: { bytesPerSecond: 512 * 1024, burstBytes: 4 * 1024 * 1024 },
    ...overrides,
  };
}

export function contextFor(claim: Granted, config: RunnerConfig, parts: { logs?: LogSink; progress?: ProgressReporter; held?: HeldJob } = {}): AttemptContext {
  const trace = newTrace();
  return {
    claim,
    held: parts.held ?? heldFor(claim),
    trace,
    headers: traceHeaders(trace),
    logs: parts.logs ?? new RecordingLogs(),
    log: logger,
    config,
    metrics: createRunnerMetrics(createMetricsRegistry("python-runner-test")),
    // Unit tests of steps that do not talk to the scheduler: every report is taken.
    progress: parts.progress ?? { stale: false, report: async () => undefined },
  };
}

/** A consumed training.submitted as the runner's pull loop hands it over, recording how it was settled. */
export function deliveredMessage(claim: Granted): ConsumedMessage<unknown> & { settledAs: string | null } {
  const msg = {
    data: { job_id: claim.job_id },
    subject: EVENTS.trainingSubmitted.subject,
    headers: {},
    seq: 1,
    deliveryCount: 1,
    storedAt: new Date(),
    settledAs: null as string | null,
    get settled() {
      return msg.settledAs !== null;
    },
    async ack() {
      msg.settledAs = "ack";
    },
    nak() {
      msg.settledAs = "nak";
    },
    term() {
      msg.settledAs = "term";
    },
    working() {},
  };
  return msg;
}

/** A private nats-server with the runner's streams, and the run's MLflow. */
export interface Stack {
  nats: NatsServer;
  bus: Bus;
  mlflow: MlflowClient;
  dir: string;
  /** run.completed events as a consumer of RUNS sees them. */
  completed(): RunCompleted[];
  /** job.log batches as a consumer of JOB_LOGS sees them. */
  logBatches(): JobLog[];
  close(): Promise<void>;
}

export async function startStack(name: string): Promise<Stack> {
  const infra = inject("infra");
  const dir = await mkdtemp(join(infra.workDir, `${name}-`));
  const nats = await startNatsServer({ storeDir: join(dir, "nats") });
  const bus = await connectBus({ servers: nats.url, name: `${name}-test`, logger });
  await bus.ensureStream(STREAMS.runs);
  await bus.ensureStream(STREAMS.jobLogs);
  const consumer = {
    stream: STREAMS.runs,
    events: { runCompleted: EVENTS.runCompleted },
    durable: unique("runs-reader"),
    filterSubject: EVENTS.runCompleted.subject,
    ackWaitMs: 30_000,
    maxDeliver: -1,
    maxAckPending: 100,
    deliverPolicy: "all",
    description: "test reader",
  } as const satisfies ConsumerDef;
  await bus.ensureConsumer(consumer);
  const events: RunCompleted[] = [];
  const reading = bus.consume(consumer, {
    runCompleted: async (msg) => {
      events.push(msg.data);
    },
  });
  const logConsumer = {
    stream: STREAMS.jobLogs,
    events: { jobLog: EVENTS.jobLog },
    durable: unique("logs-reader"),
    filterSubject: "job.log.>",
    ackWaitMs: 30_000,
    maxDeliver: -1,
    maxAckPending: 100,
    deliverPolicy: "all",
    description: "test reader",
  } as const satisfies ConsumerDef;
  await bus.ensureConsumer(logConsumer);
  const batches: JobLog[] = [];
  const readingLogs = bus.consume(logConsumer, {
    jobLog: async (msg) => {
      batches.push(msg.data);
    },
  });
  const mlflow = createMlflowClient({ baseUrl: infra.mlflowUrl });
  return {
    nats,
    bus,
    mlflow,
    dir,
    completed: () => [...events],
    logBatches: () => [...batches],
    async close() {
      await reading.stop();
      await readingLogs.stop();
      await bus.close();
      await mlflow.close();
      await nats.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` holds; bounded by tries, never by a time threshold on the system. */
export async function eventually<T>(read: () => Promise<T> | T, check: (v: T) => boolean, tries = 150, everyMs = 100): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < tries; i++) {
    last = await read();
    if (check(last)) return last;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`condition not reached; last value: ${JSON.stringify(last)}`);
}
