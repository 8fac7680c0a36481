import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { loggedMetricsPort, startPlatform, waitForJob, type Platform } from "@asgard/test-support";

/**
 * The security suite's probe jobs: scripts that only look around and report what they could
 * reach, submitted through the gateway as any user would. Each asserts what the sandbox must
 * hold (docs/security.md), not how it holds it.
 */

interface Job {
  job_id: string;
  status: string;
  logs: string;
  error: string | null;
  error_type: string | null;
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
const rand = () => Math.random().toString(36).slice(2, 10);

/**
 * Connects to MLflow at the address the job was given, then to each `name=host:port` in
 * PROBE_TARGETS, and prints one line per target.
 */
const NETWORK_PROBE = `
import os, socket
from urllib.parse import urlsplit
tracking = urlsplit(os.environ["MLFLOW_TRACKING_URI"])
targets = [("mlflow", tracking.hostname, tracking.port)]
for target in os.environ["PROBE_TARGETS"].split(","):
    name, address = target.split("=", 1)
    host, port = address.rsplit(":", 1)
    targets.append((name, host, port))
for name, host, port in targets:
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
        print(f"PROBE {name} reached")
    except OSError as exc:
        print(f"PROBE {name} unreachable {type(exc).__name__}")
`;

/** Asks the kernel for a new user namespace, as \`unshare -U\` does. */
const USERNS_PROBE = `
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUSER = 0x10000000
if libc.unshare(CLONE_NEWUSER) == 0:
    print("USERNS created")
else:
    print("USERNS refused", os.strerror(ctypes.get_errno()))
`;

/** Forks until the kernel says no, then reports how far it got and cleans up. */
const FORK_BOMB = `
import os, signal, time
children = []
try:
    while len(children) < 100000:
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        children.append(pid)
    print("FORKS unbounded", len(children))
except OSError as exc:
    print("FORKS stopped", len(children), exc.strerror)
for pid in children:
    os.kill(pid, signal.SIGKILL)
for pid in children:
    os.waitpid(pid, 0)
`;

/** Takes memory until something stops it. */
const MEMORY_HOG = `
chunks = []
while True:
    chunks.append(b"x" * (256 * 1024 * 1024))
    print("HOLDING", len(chunks) * 256, "MiB", flush=True)
`;

const QUICK_SCRIPT = `print("NEIGHBOUR done")\n`;

async function submit(api: string, scriptName: string, script: string, env: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${api}/mlops/training/upload`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      script_name: scriptName,
      script_content: b64(script),
      experiment_name: `e2e-security-${rand()}`,
      model_name: "probe",
      environment_vars: env,
      timeout: 300,
    }),
  });
  const body = (await res.json()) as { job_id?: string };
  expect(res.status, JSON.stringify(body)).toBe(202);
  return body.job_id as string;
}

const finished = (api: string, id: string) => waitForJob<Job>(api, id, ["completed", "failed", "cancelled"]);

const hostPort = (url: string) => {
  const u = new URL(url);
  return `${u.hostname}:${u.port}`;
};

describe("probe jobs: what a training script can reach and do (real NATS, database, MLflow, bubblewrap)", () => {
  const infra = inject("infra");
  let platform: Platform;

  beforeAll(async () => {
    platform = await startPlatform(infra, { runners: 1, runnerEnv: { RUNNER_SLOTS: "2" } });
  }, 180_000);

  afterAll(async () => {
    await platform?.stop();
  });

  it("reaches MLflow and nothing else of the platform: not NATS, PostgreSQL, the gateway or a service's /metrics", async () => {
    // The runner logs its port once ready, which may be after the platform answers (it waits
    // for the scheduler's queue stream): wait for the line, bounded by tries.
    let runnerMetrics: number | null = null;
    for (let i = 0; i < 600 && runnerMetrics === null; i++) {
      runnerMetrics = loggedMetricsPort(platform.runners[0]?.output() ?? "");
      if (runnerMetrics === null) await new Promise((r) => setTimeout(r, 100));
    }
    expect(runnerMetrics, platform.runners[0]?.output()).not.toBeNull();
    const targets: Record<string, string> = {
      // MLflow's own address on the host: the job reaches MLflow only where it was told to.
      mlflowHost: hostPort(infra.mlflowUrl),
      nats: hostPort(platform.natsUrl.replace(/^nats:/, "http:")),
      gateway: hostPort(platform.api),
      runnerMetrics: `127.0.0.1:${runnerMetrics}`,
    };
    if (infra.databaseUrl) targets.postgres = hostPort(infra.databaseUrl.replace(/^postgres(ql)?:/, "http:"));
    // Each is really listening on the host, so an unreachable one is the sandbox's doing.
    expect((await fetch(`http://127.0.0.1:${runnerMetrics}/metrics`)).status).toBe(200);

    const id = await submit(platform.api, "probe_net.py", NETWORK_PROBE, {
      PROBE_TARGETS: Object.entries(targets).map(([k, v]) => `${k}=${v}`).join(","),
    });
    const job = await finished(platform.api, id);
    expect(job.status, job.logs).toBe("completed");
    expect(job.logs).toContain("PROBE mlflow reached");
    for (const name of Object.keys(targets)) {
      expect(job.logs, job.logs).toMatch(new RegExp(`PROBE ${name} unreachable`));
    }
  }, 300_000);

  it("cannot create a user namespace (unshare -U)", async () => {
    const job = await finished(platform.api, await submit(platform.api, "probe_userns.py", USERNS_PROBE));
    expect(job.status, job.logs).toBe("completed");
    expect(job.logs).toContain("USERNS refused");
    expect(job.logs).not.toContain("USERNS created");
  }, 300_000);

  it("a fork bomb is stopped by the process limit while a neighbour job completes", async () => {
    const bomb = await submit(platform.api, "fork_bomb.py", FORK_BOMB);
    const neighbour = await submit(platform.api, "neighbour.py", QUICK_SCRIPT);
    const [bombJob, neighbourJob] = await Promise.all([finished(platform.api, bomb), finished(platform.api, neighbour)]);
    expect(neighbourJob.status, neighbourJob.logs).toBe("completed");
    expect(neighbourJob.logs).toContain("NEIGHBOUR done");
    expect(bombJob.logs).toMatch(/FORKS stopped \d+/);
    expect(bombJob.logs).not.toContain("FORKS unbounded");
    const forks = Number(/FORKS stopped (\d+)/.exec(bombJob.logs)?.[1]);
    expect(forks).toBeLessThan(2048);
  }, 300_000);

  it("a memory hog ends as resource_limit naming memory, while a neighbour job completes", async () => {
    const hog = await submit(platform.api, "memory_hog.py", MEMORY_HOG);
    const neighbour = await submit(platform.api, "neighbour.py", QUICK_SCRIPT);
    const [hogJob, neighbourJob] = await Promise.all([finished(platform.api, hog), finished(platform.api, neighbour)]);
    expect(neighbourJob.status, neighbourJob.logs).toBe("completed");
    expect(hogJob, hogJob.logs).toMatchObject({ status: "failed", error_type: "resource_limit" });
    expect(hogJob.error).toMatch(/memory/i);
  }, 300_000);
});
