import { randomUUID } from "node:crypto";
import { networkInterfaces } from "node:os";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { loggedMetricsPort, startPlatform, type Platform } from "@asgard/test-support";
import { runUserScript } from "./user-script.js";

/**
 * A user's model that looks around as it loads (pickled with the model, so it runs wherever
 * the model is loaded) and answers every prediction with what it found: which platform
 * ports it reached, whether it saw the canary variable (in its own environment or any
 * process's /proc/<pid>/environ), which processes it saw, and where it could write.
 */
const PROBE_MODEL_SCRIPT = `
import json, os, socket, sys
import mlflow, mlflow.pyfunc
import pandas as pd


def reach(target):
    host, port = target.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=3):
            return "connected"
    except OSError as e:
        return type(e).__name__


def write(directory):
    try:
        with open(os.path.join(directory, "probe-was-here"), "w") as f:
            f.write("x")
        return "written"
    except OSError as e:
        return type(e).__name__


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


class Probe(mlflow.pyfunc.PythonModel):
    def __init__(self, targets, canary_name, canary_value):
        self.targets, self.canary_name, self.canary_value = targets, canary_name, canary_value
        self.findings = None

    def load_context(self, context):
        note = context.artifacts["note"]
        pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
        self.findings = {
            "connect": {t: reach(t) for t in self.targets},
            "env_names": sorted(os.environ),
            "canary_in_proc_environ": [p for p in pids if self.canary_value.encode() in read(f"/proc/{p}/environ")],
            "cmdlines": [read(f"/proc/{p}/cmdline").replace(b"\\0", b" ").decode(errors="replace").strip() for p in pids],
            "writes": {
                "model": write(os.path.dirname(os.path.dirname(note))),
                "model_artifacts": write(os.path.dirname(note)),
                "environment": write(sys.prefix),
                "site_packages": write(os.path.dirname(os.path.dirname(mlflow.__file__))),
                "tmp": write("/tmp"),
            },
            "uid": os.getuid(),
        }

    def predict(self, context, model_input, params=None):
        return [json.dumps(self.findings)] * len(model_input)


with open("note.txt", "w") as f:
    f.write("a file of the model")
mlflow.set_experiment("probe-models")
with mlflow.start_run() as run:
    mlflow.pyfunc.log_model(
        name="model",
        python_model=Probe(json.loads(os.environ["TARGETS"]), os.environ["CANARY_NAME"], os.environ["CANARY_VALUE"]),
        artifacts={"note": "note.txt"},
        input_example=pd.DataFrame({"x": [1.0]}),
        registered_model_name=os.environ["MODEL_NAME"],
    )
print("RESULT " + json.dumps(run.info.run_id))
`;

interface Findings {
  connect: Record<string, string>;
  env_names: string[];
  canary_in_proc_environ: number[];
  cmdlines: string[];
  writes: Record<string, string>;
  uid: number;
}

const CANARY_NAME = "ASGARD_SECURITY_CANARY";
const canaryValue = `canary-${randomUUID()}`;

/** host:port of a URL (its default port when it names none). */
function hostPort(url: string): { host: string; port: number } {
  const u = new URL(url);
  const port = u.port !== "" ? Number(u.port) : u.protocol === "https:" ? 443 : u.protocol.startsWith("postgres") ? 5432 : 80;
  return { host: u.hostname, port };
}

/** The host's non-loopback IPv4 addresses: a server bound to 0.0.0.0 is reachable there too. */
function hostAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).filter((a) => a.family === "IPv4" && !a.internal).map((a) => a.address));
}

/**
 * A model is untrusted code: loading it runs whatever its pickle holds. Served through the
 * real platform (registry, inference and gateway as their own processes), a model that probes
 * its surroundings from `load_context` finds no network, no secret of the service, no host
 * process and nothing of the host it can write to.
 */
describe("security: a model's code runs in a sandbox of its own", () => {
  const infra = inject("infra");
  let platform: Platform;
  let findings: Findings;
  const ports: Record<string, number> = {};

  beforeAll(async () => {
    platform = await startPlatform(infra, { runners: 0, services: ["registry", "inference", "gateway"], env: { [CANARY_NAME]: canaryValue } });
    const inference = platform.services.get("inference");
    let metricsPort: number | null = null;
    for (let i = 0; i < 600 && metricsPort === null; i++) {
      metricsPort = loggedMetricsPort(inference?.output() ?? "");
      if (metricsPort === null) await new Promise((r) => setTimeout(r, 100));
    }
    if (metricsPort === null) throw new Error(`inference never logged its metrics port:\n${inference?.output()}`);
    ports.nats = hostPort(platform.natsUrl).port;
    ports.mlflow = hostPort(platform.mlflowUrl).port;
    ports.gateway = hostPort(platform.api).port;
    ports.inferenceMetrics = metricsPort;
    if (platform.env.DATABASE_URL) ports.postgres = hostPort(platform.env.DATABASE_URL).port;
    const targets = ["127.0.0.1", ...hostAddresses()].flatMap((host) => Object.values(ports).map((port) => `${host}:${port}`));

    const modelName = `probe-${randomUUID().slice(0, 8)}`;
    await runUserScript(infra, infra.mlflowUrl, PROBE_MODEL_SCRIPT, {
      MODEL_NAME: modelName,
      TARGETS: JSON.stringify(targets),
      CANARY_NAME,
      CANARY_VALUE: canaryValue,
    });
    // As a client does: a 503 while the model's worker loads means "retry shortly".
    let last = "";
    for (let tries = 0; tries < 600; tries++) {
      const res = await fetch(`${platform.api}/mlops/inference`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model_name: modelName, inputs: { x: [1] } }),
      });
      last = await res.text();
      if (res.status === 200) {
        findings = JSON.parse((JSON.parse(last) as { predictions: string[] }).predictions[0] as string) as Findings;
        return;
      }
      if (res.status !== 503 && res.status !== 404) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    throw new Error(`the probe model was never served; last answer: ${last}\n${inference?.output().slice(-3000)}`);
  }, 900_000);

  afterAll(async () => {
    await platform?.stop();
  });

  it("reaches none of the platform's ports: NATS, PostgreSQL, the gateway, MLflow, a metrics endpoint", () => {
    expect(Object.keys(findings.connect).length).toBeGreaterThanOrEqual(Object.keys(ports).length);
    for (const [target, outcome] of Object.entries(findings.connect)) expect(outcome, target).not.toBe("connected");
  });

  it("sees no variable of the service, in its own environment or any process's", () => {
    expect(findings.env_names).not.toContain(CANARY_NAME);
    for (const name of ["NATS_URL", "MLFLOW_TRACKING_URI", "DATABASE_URL"]) expect(findings.env_names).not.toContain(name);
    expect(findings.canary_in_proc_environ).toEqual([]);
  });

  it("sees no process of the host: only its sandbox", () => {
    expect(findings.cmdlines.length).toBeGreaterThan(0);
    for (const cmdline of findings.cmdlines) expect(cmdline).toMatch(/worker\.py/);
    expect(findings.cmdlines.join("\n")).not.toMatch(/nats-server|node|mlflow server|postgres/);
  });

  it("cannot write to its model or its environment, only to its private /tmp", () => {
    const { tmp, ...host } = findings.writes;
    expect(tmp).toBe("written");
    for (const [where, outcome] of Object.entries(host)) expect(outcome, where).not.toBe("written");
    if (process.getuid?.() === 0) expect(findings.uid).not.toBe(0);
  });
});
