import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { newApiKey } from "@asgard/contracts";
import { freePort, startNatsServer, type NatsServer } from "@asgard/infra";
import { DEPLOY, find, podOf, renderKustomization, ROOT, SERVICES, type K8sObject, type ServiceName } from "./support.js";

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A clean environment: nothing of the test runner's (DATABASE_URL, …) leaks into a check. */
function baseEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", LANG: "C.UTF-8" };
}

function runNode(args: string[], env: Record<string, string>, cwd = ROOT, timeoutMs = 120_000): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env: { ...baseEnv(), ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Minimal valid environments: only what each service requires. */
const REQUIRED_ENV: Record<ServiceName, Record<string, string>> = {
  gateway: { NATS_URL: "nats://nats:4222" },
  "job-scheduler": { NATS_URL: "nats://nats:4222" },
  status: { NATS_URL: "nats://nats:4222", MLFLOW_TRACKING_URI: "http://mlflow:5000" },
  registry: { NATS_URL: "nats://nats:4222", MLFLOW_TRACKING_URI: "http://mlflow:5000" },
  inference: { NATS_URL: "nats://nats:4222", MLFLOW_TRACKING_URI: "http://mlflow:5000" },
  "python-runner": { NATS_URL: "nats://nats:4222", MLFLOW_TRACKING_URI: "http://mlflow:5000" },
};

/** Sample values for what the manifests take from Secrets, in the form each variable expects. */
const SECRET_SAMPLES: Record<string, string> = {
  DATABASE_URL: "postgres://asgard:sample@db.example.internal:5432/asgard",
  BLOB_S3_ACCESS_KEY_ID: "AKSAMPLE",
  BLOB_S3_SECRET_ACCESS_KEY: "sample-secret",
  // A fresh key of the real format, as `npm run keys -- bootstrap-secret` makes them.
  BOOTSTRAP_ADMIN_KEY: newApiKey().key,
};
/** deploy/.env values that must have a real form (env.example holds only placeholders for them). */
const ENV_FILE_SAMPLES: Record<string, string> = {
  ASGARD_BOOTSTRAP_ADMIN_KEY: SECRET_SAMPLES.BOOTSTRAP_ADMIN_KEY ?? "",
  // At least 32 characters, as `npm run keys -- mlflow-secret` makes it.
  MLFLOW_TENANT_SECRET: "sample-tenant-secret-0123456789abcdef",
};

let out: string;
const entry = (service: ServiceName) => join(out, service, "main.mjs");

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), "asgard-bundles-"));
  // The same command the images run: `npm run bundle -- --out /bundles` (a build, then the bundles).
  const built = await runNode([join(ROOT, "packages", "cli", "bootstrap.mjs"), "bundle", "--out", out], {}, ROOT, 600_000);
  expect(built.stderr).toBe("");
  expect(built.code).toBe(0);
}, 600_000);

afterAll(async () => {
  if (out) await rm(out, { recursive: true, force: true });
});

/** `new URL("./…", import.meta.url)` in a service's sources: files it reads beside its code. */
async function runtimeFiles(service: ServiceName): Promise<string[]> {
  const src = join(ROOT, "services", service, "src");
  const found: string[] = [];
  for (const file of await readdir(src, { recursive: true })) {
    if (!file.endsWith(".ts") || file.endsWith(".test.ts")) continue;
    const text = await readFile(join(src, file), "utf8");
    for (const m of text.matchAll(/new URL\(\s*"\.\/([^"]+)"\s*,\s*import\.meta\.url\s*\)/g)) if (m[1]) found.push(m[1]);
  }
  return found;
}

describe("production bundles: contents", () => {
  it.each(SERVICES)("%s: every file its code loads through import.meta.url is in the bundle", async (service) => {
    for (const file of await runtimeFiles(service)) {
      expect(existsSync(join(out, service, file)), `${service}: ${file}`).toBe(true);
    }
  });

  it("the runner and inference carry their Python files", async () => {
    expect(await runtimeFiles("python-runner")).not.toEqual([]);
    expect(await runtimeFiles("inference")).not.toEqual([]);
  });
});

describe("production bundles: configuration check", () => {
  it.each(SERVICES)("%s: a valid environment prints config ok and exits 0 without connecting", async (service) => {
    const r = await runNode([entry(service)], { ...REQUIRED_ENV[service], ASGARD_CONFIG_CHECK: "1" });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe(`${service}: config ok`);
    expect(r.code).toBe(0);
  });

  it.each(SERVICES)("%s: an invalid variable exits 2 and names it", async (service) => {
    const r = await runNode([entry(service)], { ...REQUIRED_ENV[service], NATS_URL: "localhost:4222", ASGARD_CONFIG_CHECK: "1" });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`${service}: invalid configuration`);
    expect(r.stderr).toContain('NATS_URL: NATS server URL(s), e.g. nats://127.0.0.1:4222 (comma-separated for a cluster) (got "localhost:4222")');
  });

  it.each(["status", "registry", "inference", "python-runner"] as const)("%s: a missing required variable exits 2 and names it", async (service) => {
    const r = await runNode([entry(service)], { NATS_URL: "nats://nats:4222", ASGARD_CONFIG_CHECK: "1" });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("MLFLOW_TRACKING_URI: MLflow tracking server URL");
  });

  it("the job-scheduler's S3 key pair is checked too", async () => {
    const r = await runNode([entry("job-scheduler")], {
      NATS_URL: "nats://nats:4222",
      BLOB_STORE_URL: "s3://bucket/scripts",
      BLOB_S3_ACCESS_KEY_ID: "AKONLY",
      ASGARD_CONFIG_CHECK: "1",
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("BLOB_S3_SECRET_ACCESS_KEY: set together with its pair");
  });

  it("every service's environment in deploy/compose.yaml passes its check", async () => {
    const compose = parseYaml(await readFile(join(DEPLOY, "compose.yaml"), "utf8"), { merge: true }) as {
      services: Record<string, { environment?: Record<string, string> }>;
    };
    const example = Object.fromEntries(
      (await readFile(join(DEPLOY, "env.example"), "utf8"))
        .split("\n")
        .map((l) => /^([A-Z0-9_]+)=(.*)$/.exec(l.trim()))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1], m[2]]),
    ) as Record<string, string>;
    // deploy/.env as env.example shapes it; `${VAR:-default}` falls back, `${VAR:?…}` must be set.
    const interpolate = (v: string) =>
      v.replace(/\$\{([A-Z0-9_]+)(?::([?-])([^}]*))?\}/g, (_m, name: string, op?: string, arg?: string) => {
        const value = ENV_FILE_SAMPLES[name] ?? example[name];
        if (value !== undefined && value !== "") return value;
        if (op === "?") throw new Error(`${name} is required by compose.yaml but missing from env.example`);
        return op === "-" ? (arg ?? "") : "";
      });
    for (const service of SERVICES) {
      const env = Object.fromEntries(Object.entries(compose.services[service]?.environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]));
      const r = await runNode([entry(service)], { ...env, ASGARD_CONFIG_CHECK: "1" });
      expect(r.stderr, service).toBe("");
      expect(r.code, service).toBe(0);
    }
  });

  it("every service's environment in the Kubernetes example overlay passes its check", async () => {
    const objects = await renderKustomization(join(DEPLOY, "k8s", "overlays", "example"));
    const config = (find(objects, "ConfigMap", "asgard-config") as unknown as { data: Record<string, string> }).data;
    for (const service of SERVICES) {
      const container = podOf(find(objects, "Deployment", service) as K8sObject).spec.containers[0];
      const env: Record<string, string> = {};
      for (const e of container?.env ?? []) {
        if (e.value !== undefined) env[e.name] = e.value;
        else if (e.valueFrom?.configMapKeyRef) env[e.name] = config[e.valueFrom.configMapKeyRef.key ?? ""] ?? "";
        else if (e.valueFrom?.secretKeyRef) env[e.name] = SECRET_SAMPLES[e.name] ?? "";
        else if (e.valueFrom?.fieldRef) env[e.name] = `${service}-7d9f8c6b5-x2x4q`;
      }
      const r = await runNode([entry(service)], { ...env, ASGARD_CONFIG_CHECK: "1" });
      expect(r.stderr, service).toBe("");
      expect(r.code, service).toBe(0);
    }
  });
});

describe("production bundles: serving", () => {
  let nats: NatsServer;
  let dir: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "asgard-bundle-serve-"));
    // A private server: these bundles declare the platform's real streams and consumers.
    nats = await startNatsServer({ storeDir: join(dir, "nats") });
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function start(service: ServiceName, env: Record<string, string>): { child: ChildProcess; exited: Promise<number | null>; output: () => string } {
    const child = spawn(process.execPath, [entry(service)], { cwd: dir, env: { ...baseEnv(), ...env }, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let output = "";
    child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    return { child, exited, output: () => output };
  }

  /** The image's health probe script, run as the HEALTHCHECK runs it. */
  const probe = (args: string[], env: Record<string, string>) => runNode([join(DEPLOY, "images", "http-probe.mjs"), ...args], env);

  async function until(what: string, check: () => Promise<boolean>, output: () => string): Promise<void> {
    for (let i = 0; i < 600; i++) {
      if (await check().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${what} never became true; output:\n${output()}`);
  }

  it("gateway serves /healthz, /readyz and the API docs with their static files; the probe script agrees", async () => {
    const port = await freePort();
    const gw = start("gateway", { NATS_URL: nats.url, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "warn" });
    const base = `http://127.0.0.1:${port}`;
    await until("gateway listening", async () => (await fetch(`${base}/healthz`)).ok, gw.output);
    const ready = await fetch(`${base}/readyz`);
    // No status service runs here, so no snapshot: not ready, and it says why.
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: "not_ready", checks: { status_snapshot: false } });
    // The API's routes wait for the API keys, which load once NATS answers.
    await until("API keys loaded", async () => (await fetch(`${base}/docs`)).status === 200, gw.output);
    const docs = await fetch(`${base}/docs`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain("swagger");
    const asset = await fetch(`${base}/docs/static/swagger-ui-bundle.js`);
    expect(asset.status).toBe(200);
    expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(100_000);

    expect((await probe(["PORT", "/healthz"], { PORT: String(port) })).code).toBe(0);
    expect((await probe([String(port), "/readyz"], {})).code).toBe(1);
    expect((await probe([String(port), "/no-such-route"], {})).code).toBe(1);
    expect((await probe(["PORT", "healthz"], { PORT: String(port) })).code).toBe(2);

    gw.child.kill("SIGTERM");
    expect(await gw.exited).toBe(0);
  });

  it("job-scheduler runs from its bundle on the embedded database and serves /metrics", async () => {
    const metricsPort = await freePort();
    const scheduler = start("job-scheduler", {
      NATS_URL: nats.url,
      ASGARD_DATA_DIR: join(dir, "scheduler-data"),
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: "info",
    });
    await until("scheduler started", async () => scheduler.output().includes('"msg":"job-scheduler started"'), scheduler.output);
    expect((await probe(["METRICS_PORT", "/metrics"], { METRICS_PORT: String(metricsPort) })).code).toBe(0);
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toContain('service="job-scheduler"');
    scheduler.child.kill("SIGTERM");
    expect(await scheduler.exited).toBe(0);
  });

  it("status serves /metrics on METRICS_PORT", async () => {
    const metricsPort = await freePort();
    const status = start("status", {
      NATS_URL: nats.url,
      MLFLOW_TRACKING_URI: inject("infra").mlflowUrl,
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: "warn",
    });
    await until("status metrics", async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).ok, status.output);
    expect((await probe(["METRICS_PORT", "/metrics"], { METRICS_PORT: String(metricsPort) })).code).toBe(0);
    status.child.kill("SIGTERM");
    expect(await status.exited).toBe(0);
  });
});
