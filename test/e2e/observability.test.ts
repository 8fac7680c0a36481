import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { loggedMetricsPort, MODEL_SCRIPT, type Platform, type Sample, scrape, startPlatform, total, waitForJob } from "@asgard/test-support";

interface Job {
  job_id: string;
  status: string;
  model_version: string | null;
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

/**
 * The whole flow an operator watches — train, register, predict — on every service as its
 * own process, then each service's `/metrics` scraped: the series the runbook names move.
 */
describe("observability: every service's /metrics moves with one job and one prediction", () => {
  const infra = inject("infra");
  let platform: Platform;
  const before = new Map<string, Sample[]>();

  /** Where each service serves `/metrics`: the gateway on its API port, the rest on the port they logged. */
  async function metricsUrl(name: string): Promise<string> {
    if (name === "gateway") return `${platform.api}/metrics`;
    const proc = name === "python-runner" ? platform.runners[0] : platform.services.get(name);
    if (!proc) throw new Error(`${name} is not running`);
    for (let i = 0; i < 600; i++) {
      const port = loggedMetricsPort(proc.output());
      if (port !== null) return `http://127.0.0.1:${port}/metrics`;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${name} never logged its metrics port:\n${proc.output()}`);
  }

  const SERVICES = ["gateway", "job-scheduler", "python-runner", "registry", "inference", "status"];

  beforeAll(async () => {
    platform = await startPlatform(infra, {
      runners: 1,
      services: ["job-scheduler", "registry", "inference", "status", "gateway"],
      env: { RECONCILE_INTERVAL_MS: "1000" },
      // The runner's own environment cache: the first job must build (a miss), the second must not (a hit).
      runnerEnv: { ENV_CACHE_DIR: join(infra.workDir, `obs-env-cache-${Date.now()}`) },
    });
    for (const name of SERVICES) before.set(name, await scrape(await metricsUrl(name)));
  }, 300_000);

  afterAll(async () => {
    await platform?.stop();
  });

  it("counts jobs, queue, environments, log lines, registrations and predictions", async () => {
    const modelName = `obs-model-${Date.now()}`;
    const submit = async (): Promise<Job> => {
      const res = await fetch(`${platform.api}/mlops/training/upload`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ script_name: "train.py", script_content: b64(MODEL_SCRIPT), experiment_name: "observability", model_name: modelName, requirements: ["scikit-learn"] }),
      });
      const job = (await res.json()) as Job;
      expect(res.status, JSON.stringify(job)).toBe(202);
      return job;
    };
    const first = await waitForJob<Job>(platform.api, (await submit()).job_id, ["completed", "failed", "cancelled"]);
    expect(first.status, JSON.stringify(first)).toBe("completed");
    const second = await waitForJob<Job>(platform.api, (await submit()).job_id, ["completed", "failed", "cancelled"]);
    expect(second.status, JSON.stringify(second)).toBe("completed");
    expect(second.model_version).not.toBeNull();

    // As a client would: a 503 while the new version's worker is still loading means retry.
    const predict = () =>
      fetch(`${platform.api}/mlops/inference`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model_name: modelName, inputs: { a: [0.1, -1], b: [0.2, 0.5], c: [0.3, 2], d: [0.4, 0], e: [0.5, 1] }, return_probabilities: true }),
      });
    let predicted = await predict();
    for (let tries = 0; predicted.status === 503 && tries < 300; tries++) {
      await predicted.body?.cancel();
      await new Promise((r) => setTimeout(r, 1000));
      predicted = await predict();
    }
    const prediction = (await predicted.json()) as { predictions: unknown[]; probabilities: number[][] };
    expect(predicted.status, JSON.stringify(prediction)).toBe(200);
    expect(prediction.predictions).toHaveLength(2);

    const after = new Map<string, Sample[]>();
    const moved = (service: string, name: string, where: Record<string, string> = {}) =>
      total(after.get(service) ?? [], name, where) - total(before.get(service) ?? [], name, where);
    // Gauges and the status snapshot refresh on their own intervals: read until they caught up.
    for (let i = 0; i < 100; i++) {
      for (const name of SERVICES) after.set(name, await scrape(await metricsUrl(name)));
      const settled =
        total(after.get("job-scheduler") ?? [], "asgard_scheduler_jobs", { status: "completed" }) >= 2 &&
        total(after.get("status") ?? [], "asgard_runners_live") >= 1;
      if (settled) break;
      await new Promise((r) => setTimeout(r, 250));
    }

    // gateway: requests by route, uploads
    expect(moved("gateway", "asgard_http_request_duration_seconds_count", { route: "/mlops/training/upload" })).toBe(2);
    expect(moved("gateway", "asgard_http_request_duration_seconds_count", { route: "/mlops/inference", status: "200" })).toBe(1);
    expect(moved("gateway", "asgard_gateway_training_uploads_total")).toBe(2);
    // scheduler: jobs by state, job duration, stored log lines
    expect(total(after.get("job-scheduler") ?? [], "asgard_scheduler_jobs", { status: "completed" })).toBe(2);
    expect(moved("job-scheduler", "asgard_scheduler_jobs_created_total")).toBe(2);
    expect(moved("job-scheduler", "asgard_scheduler_jobs_finished_total", { status: "completed" })).toBe(2);
    expect(moved("job-scheduler", "asgard_scheduler_job_duration_seconds_count", { status: "completed" })).toBe(2);
    expect(moved("job-scheduler", "asgard_scheduler_log_lines_stored_total")).toBeGreaterThanOrEqual(2);
    // runner: attempts, environment cache (one miss that built, one hit), build seconds, log lines
    expect(moved("python-runner", "asgard_runner_attempts_total")).toBe(2);
    expect(moved("python-runner", "asgard_runner_attempt_duration_seconds_count")).toBe(2);
    expect(moved("python-runner", "asgard_env_cache_total", { result: "miss" })).toBe(1);
    expect(moved("python-runner", "asgard_env_cache_total", { result: "hit" })).toBe(1);
    expect(moved("python-runner", "asgard_env_build_duration_seconds_count")).toBe(1);
    expect(moved("python-runner", "asgard_env_build_duration_seconds_sum")).toBeGreaterThan(0);
    expect(moved("python-runner", "asgard_job_log_lines_total")).toBeGreaterThanOrEqual(2);
    // registry: one automatic registration per job
    expect(moved("registry", "asgard_registry_registrations_total")).toBe(2);
    // inference: the request, its latency, the batch it went in
    expect(moved("inference", "asgard_inference_requests_total", { endpoint: "predict", result: "ok" })).toBe(1);
    expect(moved("inference", "asgard_inference_request_seconds_count", { endpoint: "predict" })).toBe(1);
    expect(moved("inference", "asgard_inference_batch_rows_count")).toBe(1);
    expect(moved("inference", "asgard_inference_batch_rows_sum")).toBe(2);
    expect(moved("inference", "asgard_inference_batch_requests_count")).toBe(1);
    expect(moved("inference", "asgard_inference_predict_seconds_count")).toBeGreaterThanOrEqual(1);
    expect(total(after.get("inference") ?? [], "asgard_inference_loaded_models")).toBeGreaterThanOrEqual(1);
    // status: live runners from heartbeats, the queue drained, dependencies up
    expect(total(after.get("status") ?? [], "asgard_runners_live")).toBe(1);
    expect(total(after.get("status") ?? [], "asgard_queue_pending")).toBe(0);
    expect(total(after.get("status") ?? [], "asgard_dependency_up", { dependency: "nats" })).toBe(1);
  }, 900_000);
});
