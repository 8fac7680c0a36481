import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { freePort, startNatsServer, type ManagedProcess, type NatsServer } from "@asgard/infra";
import { createMlflowClient } from "@asgard/mlflow";
import { createScratchDatabase, pollUntil, startServiceProcess } from "@asgard/test-support";

interface Status {
  mlflow_available: boolean;
  active_experiments: number;
  registered_models: number;
  components: { database: { available: boolean; kind: string | null }; nats: { available: boolean } };
}

describe("the platform's processes, started from their entry points", () => {
  const infra = inject("infra");
  let dir: string;
  let nats: NatsServer;
  let port: number;
  let dropDatabase: (() => Promise<void>) | null = null;
  const procs: ManagedProcess[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(infra.workDir, "platform-"));
    nats = await startNatsServer({ storeDir: join(dir, "nats") });
    port = await freePort();
    const env: Record<string, string> = {
      NATS_URL: nats.url,
      MLFLOW_TRACKING_URI: infra.mlflowUrl,
      PORT: String(port),
      HOST: "127.0.0.1",
      ASGARD_DATA_DIR: dir,
      STATUS_INTERVAL_MS: "500",
      STATUS_PROBE_TIMEOUT_MS: "400",
    };
    if (infra.databaseUrl) {
      const scratch = await createScratchDatabase(infra.databaseUrl, "asgard_e2e");
      env.DATABASE_URL = scratch.url;
      dropDatabase = scratch.drop;
    }
    for (const name of ["job-scheduler", "status", "gateway"]) procs.push(startServiceProcess(name, env));
  }, 120_000);

  afterAll(async () => {
    for (const p of procs.reverse()) await p.stop();
    await nats?.stop();
    await dropDatabase?.();
    await rm(dir, { recursive: true, force: true });
  });

  it("becomes ready and reports MLflow, NATS and the database through GET /mlops/status", async () => {
    await pollUntil(`http://127.0.0.1:${port}/readyz`, (s) => s === 200, 600);
    const { body } = await pollUntil<Status>(
      `http://127.0.0.1:${port}/mlops/status`,
      (s, b) => s === 200 && b.mlflow_available && b.components.database.available,
    );
    expect(body.components.nats.available).toBe(true);
    expect(body.components.database.kind).toBe(infra.databaseUrl ? "postgres" : "embedded");

    const mlflow = createMlflowClient({ baseUrl: infra.mlflowUrl });
    const before = await mlflow.countExperiments("ACTIVE_ONLY");
    await mlflow.createExperiment(`e2e-count-${Date.now()}`);
    await mlflow.close();
    // The count moves within a probe interval or two.
    await pollUntil<Status>(`http://127.0.0.1:${port}/mlops/status`, (_s, b) => b.active_experiments >= before + 1, 100);
  });
});

describe("start-up faults", () => {
  it("an invalid variable stops a service with the variable's name and the expected form", async () => {
    const gateway = startServiceProcess("gateway", { NATS_URL: "localhost:4222", PORT: "eighty" });
    const code = await gateway.exited;
    expect(code).toBe(2);
    expect(gateway.output()).toMatch(/NATS_URL: NATS server URL/);
    expect(gateway.output()).toMatch(/PORT: port the HTTP API listens on/);

    const status = startServiceProcess("status", {
      NATS_URL: "nats://127.0.0.1:4222",
      MLFLOW_TRACKING_URI: "http://127.0.0.1:5000",
      STATUS_INTERVAL_MS: "2000",
      STATUS_PROBE_TIMEOUT_MS: "3000",
    });
    expect(await status.exited).toBe(2);
    expect(status.output()).toMatch(/STATUS_PROBE_TIMEOUT_MS/);
  });

  it("a gateway whose NATS is unreachable stays up, answers /healthz and reports not ready", async () => {
    const deadPort = await freePort();
    const port = await freePort();
    const gateway = startServiceProcess("gateway", {
      NATS_URL: `nats://127.0.0.1:${deadPort}`,
      PORT: String(port),
      HOST: "127.0.0.1",
    });
    try {
      await pollUntil(`http://127.0.0.1:${port}/healthz`, (s) => s === 200);
      const ready = await pollUntil<{ checks: { nats: boolean } }>(`http://127.0.0.1:${port}/readyz`, (s) => s === 503);
      expect(ready.body.checks.nats).toBe(false);
      const status = await fetch(`http://127.0.0.1:${port}/mlops/status`);
      expect(status.status).toBe(503);
      expect(status.headers.get("retry-after")).toBeTruthy();
      // Still retrying, not crash-looping: the process is alive and logged the outage once.
      expect(gateway.child.exitCode).toBeNull();
      const outageLines = gateway.output().split("\n").filter((l) => /not ready|unreachable|retrying|disconnected/i.test(l));
      expect(outageLines.length).toBeLessThanOrEqual(2);
    } finally {
      await gateway.stop();
    }
  });
});
