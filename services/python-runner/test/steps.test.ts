import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { RPC } from "@asgard/contracts";
import { createMlflowClient } from "@asgard/mlflow";
import { PyEnvError } from "@asgard/pyenv";
import {
  announceScript,
  createAttemptRun,
  openWorkspace,
  prepareEnvironment,
  prepareWorkspace,
  runTheScript,
} from "../src/attempt-steps.js";
import { runAttempt } from "../src/attempt.js";
import { createRunnerMetrics } from "../src/metrics.js";
import { schedulerProgress } from "../src/progress.js";
import { createMetricsRegistry } from "@asgard/telemetry";
import {
  claimFor,
  contextFor,
  deliveredMessage,
  eventually,
  fakePyEnv,
  heldFor,
  logger,
  RecordingLogs,
  runnerConfig,
  startStack,
  systemPythonLease,
  unique,
  type Stack,
} from "./support.js";

describe("python-runner attempt steps", () => {
  let stack: Stack;
  let workRoot: string;
  beforeAll(async () => {
    stack = await startStack("runner-steps");
    workRoot = await mkdtemp(join(inject("infra").workDir, "runner-work-"));
  });
  afterAll(async () => {
    await stack?.close();
    if (workRoot) await rm(workRoot, { recursive: true, force: true });
  });

  describe("prepare the environment", () => {
    it("hands on the lease of a cached environment and says it was reused", async () => {
      const logs = new RecordingLogs();
      const ctx = contextFor(claimFor({ requirements: ["scikit-learn"] }), runnerConfig(workRoot), { logs });
      const step = await prepareEnvironment(ctx, fakePyEnv({ lease: systemPythonLease() }));
      expect(step.ok).toBe(true);
      expect(logs.text("system")).toContain("requirements: scikit-learn");
      expect(logs.text("system")).toMatch(/environment system-pytho reused from the cache in \d/);
    });

    it("ends the attempt env_build_failed with the builder's output as stderr", async () => {
      const logs = new RecordingLogs();
      const ctx = contextFor(claimFor(), runnerConfig(workRoot), { logs });
      const error = new PyEnvError("LOCK_FAILED", "no version of nosuchpkg", { output: "× No solution found\n  nosuchpkg was not found" });
      const step = await prepareEnvironment(ctx, fakePyEnv({ error }));
      expect(step).toEqual({
        ok: false,
        outcome: { outcome: "env_build_failed", error_type: "env_build", error: "the environment could not be built: no version of nosuchpkg", exit_code: null },
      });
      expect(logs.text("stderr")).toBe("× No solution found\n  nosuchpkg was not found");
    });

    it("ends the attempt cancelled when the build was cancelled", async () => {
      const ctx = contextFor(claimFor(), runnerConfig(workRoot));
      const step = await prepareEnvironment(ctx, fakePyEnv({ error: new PyEnvError("CANCELLED", "cancelled") }));
      expect(step).toMatchObject({ ok: false, outcome: { outcome: "cancelled", error_type: null } });
    });
  });

  describe("create the MLflow run (real MLflow)", () => {
    it("creates the attempt's run tagged with job, attempt and trace, and ends the previous attempt's run KILLED", async () => {
      const first = claimFor();
      const ctx1 = contextFor(first, runnerConfig(workRoot));
      const run1 = await createAttemptRun(ctx1, stack.mlflow);
      if (!run1.ok) throw new Error(`no run: ${run1.outcome.error}`);

      const second = claimFor({ job_id: first.job_id, experiment_name: first.experiment_name, attempt: 2, previous_run_id: run1.value.runId });
      const ctx2 = contextFor(second, runnerConfig(workRoot));
      const run2 = await createAttemptRun(ctx2, stack.mlflow);
      if (!run2.ok) throw new Error(`no run: ${run2.outcome.error}`);

      expect(run2.value.experimentId).toBe(run1.value.experimentId);
      const created = await stack.mlflow.getRun(run2.value.runId);
      const tags = Object.fromEntries((created.data.tags ?? []).map((t) => [t.key, t.value]));
      expect(tags).toMatchObject({
        "asgard.job_id": first.job_id,
        "asgard.attempt": "2",
        "asgard.trace_id": ctx2.trace.traceId,
        "mlflow.source.name": "train.py",
      });
      expect((await stack.mlflow.getRun(run1.value.runId)).info.status).toBe("KILLED");
    });

    it("opens a tenant's workspace first and creates the run there, out of the default workspace's sight", async () => {
      const tenant = unique("team").toLowerCase();
      const claim = claimFor({ tenant });
      const logs = new RecordingLogs();
      const ctx = contextFor(claim, runnerConfig(workRoot), { logs });
      expect(await openWorkspace(ctx, stack.mlflow, null)).toEqual({ ok: true, value: null });
      const inTenant = stack.mlflow.inWorkspace(tenant);
      const run = await createAttemptRun(ctx, inTenant);
      if (!run.ok) throw new Error(`no run: ${run.outcome.error}`);
      expect((await inTenant.getRun(run.value.runId)).info.run_id).toBe(run.value.runId);
      expect((await inTenant.getExperimentByName(claim.experiment_name))?.experiment_id).toBe(run.value.experimentId);
      expect(await stack.mlflow.getExperimentByName(claim.experiment_name)).toBeNull();
      expect(logs.text("system")).toContain(`of workspace ${tenant}`);
      // Opening it again (the next attempt, another runner) is no error.
      expect((await openWorkspace(ctx, stack.mlflow, null)).ok).toBe(true);
    });

    it("ends the attempt with error_type mlflow when the tenant's workspace cannot be opened", async () => {
      const unreachable = createMlflowClient({ baseUrl: "http://127.0.0.1:9" });
      try {
        const step = await openWorkspace(contextFor(claimFor({ tenant: "team-x" }), runnerConfig(workRoot)), unreachable, null, 500);
        expect(step).toMatchObject({ ok: false, outcome: { outcome: "failed", error_type: "mlflow", exit_code: null } });
        // The default workspace always exists: nothing to open, nothing to fail.
        expect(await openWorkspace(contextFor(claimFor(), runnerConfig(workRoot)), unreachable, null, 500)).toEqual({ ok: true, value: null });
      } finally {
        await unreachable.close();
      }
    });

    it("ends the attempt with error_type mlflow when the tracking server cannot be reached", async () => {
      const unreachable = createMlflowClient({ baseUrl: "http://127.0.0.1:9" });
      try {
        const step = await createAttemptRun(contextFor(claimFor(), runnerConfig(workRoot)), unreachable, 500);
        expect(step).toMatchObject({ ok: false, outcome: { outcome: "failed", error_type: "mlflow", exit_code: null } });
        if (!step.ok) expect(step.outcome.error).toMatch(/^MLflow could not create the job's run: /);
      } finally {
        await unreachable.close();
      }
    });
  });

  describe("announce the script to the scheduler (real NATS)", () => {
    it("goes on when the scheduler accepts, reporting the run and the environment", async () => {
      const claim = claimFor();
      const held = heldFor(claim);
      const seen: unknown[] = [];
      const serving = stack.bus.serve(RPC.reportProgress, async (req) => {
        seen.push(req);
        return { accepted: true, cancel_requested: false };
      });
      try {
        const ctx = contextFor(claim, runnerConfig(workRoot), { held });
        ctx.progress = schedulerProgress(stack.bus, held, { runnerId: ctx.config.runnerId, headers: ctx.headers, logger });
        const lease = systemPythonLease();
        const step = await announceScript(ctx, lease, { runId: "r1", experimentId: "e1" });
        expect(step.ok).toBe(true);
        expect(held.phase).toBe("running");
        expect(seen).toEqual([
          expect.objectContaining({ job_id: claim.job_id, attempt: 1, phase: "running", run_id: "r1", experiment_id: "e1", env_key: lease.envKey, env_cache_hit: true }),
        ]);
      } finally {
        await serving.stop();
      }
    });

    it("stops a stale attempt, and cancels one whose cancel was requested", async () => {
      const answers = [
        { accepted: false, cancel_requested: false },
        { accepted: false, cancel_requested: true },
      ];
      const serving = stack.bus.serve(RPC.reportProgress, async () => answers.shift() ?? { accepted: true, cancel_requested: false });
      try {
        const staleClaim = claimFor();
        const staleHeld = heldFor(staleClaim);
        const stale = contextFor(staleClaim, runnerConfig(workRoot), { held: staleHeld });
        stale.progress = schedulerProgress(stack.bus, staleHeld, { runnerId: "r", headers: stale.headers, logger });
        expect(await announceScript(stale, systemPythonLease(), { runId: "r", experimentId: "e" })).toMatchObject({ ok: false });
        expect(stale.progress.stale).toBe(true);
        expect(staleHeld.abort.signal.aborted).toBe(false);

        const cancelClaim = claimFor();
        const cancelHeld = heldFor(cancelClaim);
        const cancel = contextFor(cancelClaim, runnerConfig(workRoot), { held: cancelHeld });
        cancel.progress = schedulerProgress(stack.bus, cancelHeld, { runnerId: "r", headers: cancel.headers, logger });
        expect(await announceScript(cancel, systemPythonLease(), { runId: "r", experimentId: "e" })).toMatchObject({
          ok: false,
          outcome: { outcome: "cancelled", error: "cancelled" },
        });
        expect(cancel.progress.stale).toBe(false);
        expect(cancelHeld.abort.signal.aborted).toBe(true);
      } finally {
        await serving.stop();
      }
    });
  });

  describe("prepare the work folder and run the script", () => {
    it("writes the script into a fresh folder and classifies its exit", async () => {
      const logs = new RecordingLogs();
      const script = 'import os, sys\nprint("run", os.environ["MLFLOW_RUN_ID"])\nraise SystemExit("bad data")\n';
      const claim = claimFor({ script_b64: Buffer.from(script).toString("base64") });
      const ctx = contextFor(claim, runnerConfig(workRoot), { logs });
      const ws = await prepareWorkspace(ctx);
      expect(await readFile(ws.scriptPath, "utf8")).toBe(script);
      expect(ws.dir.startsWith(join(workRoot, `${claim.job_id}-1-`))).toBe(true);

      const outcome = await runTheScript(ctx, systemPythonLease(), { runId: "run-42", experimentId: "1" }, ws, null);
      expect(outcome).toMatchObject({ outcome: "failed", error_type: "script_error", exit_code: 1 });
      expect(outcome.error).toContain("bad data");
      expect(logs.text("stdout")).toBe("run run-42");
      expect(logs.text("system")).toContain("script ended: failed (exit code 1)");
    });
  });

  describe("the whole attempt (real NATS and MLflow)", () => {
    it("runs a tenant's job in its workspace, hands the script MLFLOW_WORKSPACE, and stamps the tenant on its events", async () => {
      const tenant = unique("team").toLowerCase();
      const script = 'import os\nprint("workspace", os.environ["MLFLOW_WORKSPACE"])\n';
      const claim = claimFor({ tenant, script_b64: Buffer.from(script).toString("base64") });
      const msg = deliveredMessage(claim);
      const serving = stack.bus.serve(RPC.reportProgress, async () => ({ accepted: true, cancel_requested: false }));
      try {
        const config = runnerConfig(workRoot);
        const metrics = createRunnerMetrics(createMetricsRegistry("python-runner-test"));
        await runAttempt(
          { bus: stack.bus, mlflow: stack.mlflow, pyenv: fakePyEnv({ lease: systemPythonLease() }), logger, config, metrics, tenantUsers: null },
          claim,
          msg,
          heldFor(claim),
          contextFor(claim, config).trace,
        );
        const [event] = await eventually(
          () => stack.completed().filter((e) => e.job_id === claim.job_id),
          (events) => events.length === 1,
        );
        expect(event).toMatchObject({ tenant, outcome: "succeeded" });
        expect((await stack.mlflow.inWorkspace(tenant).getRun(event!.run_id ?? "")).info.status).toBe("FINISHED");
        const batches = await eventually(
          () => stack.logBatches().filter((b) => b.job_id === claim.job_id),
          (found) => found.flatMap((b) => b.lines).some((l) => l.text.startsWith("[asgard] script ended")),
        );
        expect(batches.every((b) => b.tenant === tenant)).toBe(true);
        expect(batches.flatMap((b) => b.lines).map((l) => l.text)).toContain(`workspace ${tenant}`);
      } finally {
        await serving.stop();
      }
    });

    it("reports a failure of the runner itself as runner_error and ends the run FAILED", async () => {
      // The work root is a file: the runner cannot make the attempt's folder.
      const blocked = join(workRoot, "not-a-folder");
      await writeFile(blocked, "x");
      const claim = claimFor();
      const held = heldFor(claim);
      const msg = deliveredMessage(claim);
      const serving = stack.bus.serve(RPC.reportProgress, async () => ({ accepted: true, cancel_requested: false }));
      try {
        const config = runnerConfig(workRoot, { workRoot: blocked });
        const metrics = createRunnerMetrics(createMetricsRegistry("python-runner-test"));
        await runAttempt(
          { bus: stack.bus, mlflow: stack.mlflow, pyenv: fakePyEnv({ lease: systemPythonLease() }), logger, config, metrics, tenantUsers: null },
          claim,
          msg,
          held,
          contextFor(claim, config).trace,
        );
        const [event] = await eventually(
          () => stack.completed().filter((e) => e.job_id === claim.job_id),
          (events) => events.length === 1,
        );
        expect(event).toMatchObject({ attempt: 1, outcome: "failed", error_type: "runner_error", exit_code: null });
        expect(event?.error).toMatch(/^the runner could not complete the attempt: .*not-a-folder/);
        expect(event?.run_id).toBeTruthy();
        expect((await stack.mlflow.getRun(event?.run_id ?? "")).info.status).toBe("FAILED");
        expect(msg.settledAs).toBe("ack");
      } finally {
        await serving.stop();
      }
    });

    it("reports nothing for an attempt a newer one replaced, and acks its message", async () => {
      const claim = claimFor();
      const msg = deliveredMessage(claim);
      // The scheduler refuses this attempt's reports: a newer one owns the job.
      const serving = stack.bus.serve(RPC.reportProgress, async (req) => ({ accepted: req.job_id !== claim.job_id, cancel_requested: false }));
      try {
        const config = runnerConfig(workRoot);
        const metrics = createRunnerMetrics(createMetricsRegistry("python-runner-test"));
        await runAttempt(
          { bus: stack.bus, mlflow: stack.mlflow, pyenv: fakePyEnv({ lease: systemPythonLease() }), logger, config, metrics, tenantUsers: null },
          claim,
          msg,
          heldFor(claim),
          contextFor(claim, config).trace,
        );
        expect(msg.settledAs).toBe("ack");
        // RUNS is read in order: once a later event is seen, an event of the stale attempt would have been too.
        const marker = claimFor();
        const later = deliveredMessage(marker);
        await runAttempt(
          { bus: stack.bus, mlflow: stack.mlflow, pyenv: fakePyEnv({ error: new PyEnvError("LOCK_FAILED", "marker") }), logger, config, metrics, tenantUsers: null },
          marker,
          later,
          heldFor(marker),
          contextFor(marker, config).trace,
        );
        const seen = await eventually(() => stack.completed(), (events) => events.some((e) => e.job_id === marker.job_id));
        expect(seen.filter((e) => e.job_id === claim.job_id)).toEqual([]);
      } finally {
        await serving.stop();
      }
    });
  });
});
