import { CONSUMERS, EVENTS, RPC, SIGNALS, type TrainingSubmitted } from "@asgard/contracts";
import type { Bus, ConsumedMessage, Consumption } from "@asgard/bus";
import type { MlflowClient } from "@asgard/mlflow";
import type { PyEnvManager } from "@asgard/pyenv";
import { continueTrace, traceFields, traceHeaders, type Logger, type Registry } from "@asgard/telemetry";
import { runAttempt } from "./attempt.js";
import type { RunnerConfig } from "./config.js";
import { HANDOVER, HeldJobs } from "./held-jobs.js";
import { createRunnerMetrics } from "./metrics.js";
import type { TenantUsers } from "./tenant-users.js";

export interface RunnerDeps {
  bus: Bus;
  mlflow: MlflowClient;
  pyenv: PyEnvManager;
  logger: Logger;
  metrics: Registry;
  config: RunnerConfig;
  /** On an MLflow server with basic auth: the tenants' users, which jobs act as. */
  tenantUsers?: TenantUsers;
}

export interface Runner {
  start(): Promise<void>;
  /**
   * Stops pulling at once; running attempts get `graceMs` to finish, then are stopped and
   * handed back (nak) so another replica runs them as their next attempt.
   */
  stop(graceMs?: number): Promise<void>;
  /** Attempts currently held (for tests and the heartbeat). */
  held(): Array<{ jobId: string; attempt: number; phase: string }>;
}

/**
 * A python-runner replica: `slots` pull loops on the shared durable consumer (one message
 * at a time each), a cancel listener, and a heartbeat the scheduler's reconciler watches.
 */
export function createRunner(deps: RunnerDeps): Runner {
  const { bus, config, logger } = deps;
  const metrics = createRunnerMetrics(deps.metrics);
  const held = new HeldJobs();
  const loops: Consumption[] = [];
  let cancelSub: { stop(): Promise<void> } | null = null;
  let heartbeat: NodeJS.Timeout | null = null;
  let draining = false;

  const beat = () => {
    try {
      bus.publishSignal(SIGNALS.runnerHeartbeat, {
        runner_id: config.runnerId,
        slots: config.slots,
        busy: held.list().length,
        draining,
        jobs: held.list().map((j) => ({ job_id: j.jobId, attempt: j.attempt, phase: j.phase })),
        at: new Date().toISOString(),
        isolation: config.isolation,
      });
    } catch (err) {
      logger.warn({ err }, "heartbeat not sent");
    }
  };

  async function handle(msg: ConsumedMessage<TrainingSubmitted>): Promise<void> {
    const jobId = msg.data.job_id;
    // This delivery is a span of the job's trace (training.submitted carries the job's traceparent).
    const trace = continueTrace(msg.headers);
    const claim = await bus.request(
      RPC.claimJob,
      { job_id: jobId, runner_id: config.runnerId, delivery: msg.deliveryCount, seq: msg.seq },
      { headers: traceHeaders(trace) },
    );
    if (!claim.granted) {
      logger.info({ job_id: jobId, ...traceFields(trace), reason: claim.reason }, "claim refused; dropping the message");
      await msg.ack();
      return;
    }
    const job = { jobId, attempt: claim.attempt, phase: "building_env" as const, abort: new AbortController(), cancelReason: null };
    held.add(job);
    beat();
    try {
      await runAttempt(
        { bus, mlflow: deps.mlflow, pyenv: deps.pyenv, logger, config, metrics, tenantUsers: deps.tenantUsers ?? null },
        claim,
        msg,
        job,
        trace,
      );
    } finally {
      held.remove(jobId);
      beat();
      evictSoon();
    }
  }

  // Keeps the environment cache within its disk budget; never removes an env in use (leases).
  let lastEviction = 0;
  function evictSoon(): void {
    if (Date.now() - lastEviction < 60_000) return;
    lastEviction = Date.now();
    deps.pyenv
      .evict()
      .then(({ removed, bytes }) => {
        if (removed.length > 0) logger.info({ removed: removed.length, bytes }, "evicted environments beyond the disk budget");
      })
      .catch((err: unknown) => logger.warn({ err }, "environment eviction failed"));
  }

  return {
    held: () => held.list().map((j) => ({ jobId: j.jobId, attempt: j.attempt, phase: j.phase })),
    async start() {
      // The scheduler owns the queue's stream; a runner started first waits for it.
      await bus.awaitStream(EVENTS.trainingSubmitted.stream);
      await bus.ensureConsumer(CONSUMERS.runners);
      cancelSub = bus.subscribeSignal(SIGNALS.jobCancel, (payload) => {
        if (held.cancel(payload.job_id, payload.attempt, payload.reason)) {
          logger.info({ job_id: payload.job_id, attempt: payload.attempt }, "cancelling the attempt");
        }
      });
      heartbeat = setInterval(beat, config.heartbeatMs);
      beat();
      for (let slot = 0; slot < config.slots; slot++) {
        loops.push(bus.consume(CONSUMERS.runners, { trainingSubmitted: handle }));
      }
      logger.info({ runner_id: config.runnerId, slots: config.slots, sandbox: config.sandboxMode }, "runner started");
    },
    async stop(graceMs = config.shutdownGraceMs) {
      draining = true;
      beat();
      const handOver = setTimeout(() => {
        for (const job of held.list()) {
          logger.warn({ job_id: job.jobId, attempt: job.attempt }, "grace period over; handing the job back");
          held.cancel(job.jobId, job.attempt, HANDOVER);
        }
      }, graceMs);
      await Promise.all(loops.splice(0).map((l) => l.stop()));
      clearTimeout(handOver);
      if (heartbeat) clearInterval(heartbeat);
      await cancelSub?.stop();
    },
  };
}
