import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { MODEL_SCRIPT, type Platform, startPlatform, waitForJob } from "@asgard/test-support";

interface Job {
  job_id: string;
  status: string;
  run_id: string | null;
  model_version: string | null;
  logs: string;
}

/** One pino line of a service's output, as far as this test reads it. */
interface LogLine {
  level?: number;
  msg?: string;
  job_id?: string | null;
  trace_id?: string;
}

const INFO = 30;
/** The trace id of a version-00 `traceparent`, as the gateway returns it. */
const traceIdOf = (traceparent: string): string | undefined => /^00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(traceparent)?.[1];
const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

/** The JSON lines of a service's captured output; anything else (a stack trace, a warning) is skipped. */
function logLines(output: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const text of output.split("\n")) {
    if (!text.startsWith("{")) continue;
    try {
      lines.push(JSON.parse(text) as LogLine);
    } catch {
      /* not a log line */
    }
  }
  return lines;
}

/** Runs `check` until it passes; bounded by a number of tries, not by a time assertion. */
async function settled(check: () => void, tries = 50): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      check();
      return;
    } catch (err) {
      if (i >= tries) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe("one trace id follows a job through every service's logs (real NATS, database, MLflow)", () => {
  const infra = inject("infra");
  let platform: Platform;

  beforeAll(async () => {
    platform = await startPlatform(infra, { runners: 1, runnerEnv: { RUNNER_SLOTS: "2" } });
  }, 180_000);

  afterAll(async () => {
    await platform?.stop();
  });

  async function submit(headers: Record<string, string>): Promise<{ jobId: string; traceparent: string }> {
    const res = await fetch(`${platform.api}/mlops/training/upload`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({
        script_name: "model.py",
        script_content: b64(`${MODEL_SCRIPT}\nimport os\nprint("job traceparent:", os.environ.get("TRACEPARENT"))\n`),
        experiment_name: `e2e-tracing-${randomBytes(4).toString("hex")}`,
        model_name: `e2e-tracing-${randomBytes(4).toString("hex")}`,
        requirements: ["scikit-learn"],
        timeout: 300,
      }),
    });
    const body = (await res.json()) as Job;
    expect(res.status, JSON.stringify(body)).toBe(202);
    return { jobId: body.job_id, traceparent: res.headers.get("traceparent") ?? "" };
  }

  /** Every service's lines about the job name one trace, `traceId`, and each logs the job at info level. */
  function expectOneTrace(jobId: string, traceId: string): void {
    const outputs = {
      gateway: platform.services.get("gateway")!.output(),
      "job-scheduler": platform.services.get("job-scheduler")!.output(),
      "python-runner": platform.runners.map((r) => r.output()).join("\n"),
      registry: platform.services.get("registry")!.output(),
    };
    for (const [service, output] of Object.entries(outputs)) {
      const aboutJob = logLines(output).filter((l) => l.job_id === jobId);
      const traced = aboutJob.filter((l) => l.trace_id !== undefined);
      expect(new Set(traced.map((l) => l.trace_id)), `${service}: ${JSON.stringify(aboutJob)}`).toEqual(new Set([traceId]));
      expect(
        traced.some((l) => (l.level ?? 0) >= INFO),
        `${service} logs the job at info level with its trace id: ${JSON.stringify(aboutJob)}`,
      ).toBe(true);
    }
  }

  it("the client's trace id, and the gateway's own when the client sent none, is in the gateway's, scheduler's, runner's and registry's logs for the job, the script's TRACEPARENT and the run's tags", async () => {
    const chosenTraceId = randomBytes(16).toString("hex");
    const traced = await submit({ traceparent: `00-${chosenTraceId}-${randomBytes(8).toString("hex")}-01` });
    expect(traceIdOf(traced.traceparent)).toBe(chosenTraceId);
    const untraced = await submit({});
    const generatedTraceId = traceIdOf(untraced.traceparent);
    expect(generatedTraceId).toMatch(/^[0-9a-f]{32}$/);
    expect(generatedTraceId).not.toBe(chosenTraceId);

    for (const [{ jobId }, traceId] of [[traced, chosenTraceId], [untraced, generatedTraceId]] as const) {
      // The job completes only once the registry answered: model.registered has been published.
      const job = await waitForJob<Job>(platform.api, jobId, ["completed", "failed", "cancelled"]);
      expect(job.status, job.logs).toBe("completed");
      expect(job.model_version, job.logs).toBe("1");
      // The script got the trace (OpenTelemetry's TRACEPARENT), and the MLflow run names it.
      expect(job.logs).toMatch(new RegExp(`job traceparent: 00-${traceId}-[0-9a-f]{16}-0[01]`));
      const run = await fetch(`${infra.mlflowUrl}/api/2.0/mlflow/runs/get?run_id=${job.run_id}`);
      const { run: { data } } = (await run.json()) as { run: { data: { tags: { key: string; value: string }[] } } };
      expect(data.tags).toContainEqual({ key: "asgard.trace_id", value: traceId });
    }

    // A service may write its last line about the job just after the job completed elsewhere.
    await settled(() => expectOneTrace(traced.jobId, chosenTraceId));
    await settled(() => expectOneTrace(untraced.jobId, generatedTraceId!));
  }, 600_000);
});
