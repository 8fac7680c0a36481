import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { promisify } from "node:util";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { ROUTE_LIST } from "@asgard/contracts";
import { freePort, spawnManaged, startMlflowServer, startNatsServer, waitUntilReady, type NatsServer } from "@asgard/infra";
import { ensureMlflowVenv, TOOL_VERSIONS } from "@asgard/tools";
import { byKind, DEPLOY, find, podOf, renderKustomization, SERVICES, type Probe } from "./support.js";

interface Stage {
  name: string;
  from: string;
  lines: string[];
}

/** The stages of a Dockerfile, each with its instructions (continuation lines joined). */
function stages(dockerfile: string): Stage[] {
  const logical = dockerfile
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith("#"));
  const out: Stage[] = [];
  for (const line of logical) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?$/i.exec(line);
    if (from?.[1]) out.push({ name: from[2] ?? from[1], from: from[1], lines: [] });
    else out.at(-1)?.lines.push(line);
  }
  return out;
}

/** Instructions that apply to a stage, its bases' first (a stage inherits ENV, USER, HEALTHCHECK). */
function effective(all: Stage[], name: string): string[] {
  const stage = all.find((s) => s.name === name);
  if (!stage) throw new Error(`no stage ${name}`);
  const base = all.some((s) => s.name === stage.from) ? effective(all, stage.from) : [];
  return [...base, ...stage.lines];
}

function last(lines: string[], instruction: string): string | undefined {
  return lines.filter((l) => l.toUpperCase().startsWith(`${instruction} `)).at(-1);
}

/** The JSON exec form after `CMD` in a HEALTHCHECK line. */
function healthcheckCommand(line: string): string[] {
  const json = line.slice(line.indexOf("CMD") + 3).trim();
  return JSON.parse(json) as string[];
}

const gatewayGetPaths = new Set(ROUTE_LIST.filter((r) => r.method === "GET").map((r) => r.path));
/** Every service without an HTTP API serves exactly this (@asgard/telemetry serveMetrics). */
const METRICS_PATH = "/metrics";

const servicesDockerfile = await readFile(join(DEPLOY, "images", "services.Dockerfile"), "utf8");
const mlflowDockerfile = await readFile(join(DEPLOY, "images", "mlflow.Dockerfile"), "utf8");
const all = stages(servicesDockerfile);

describe("deploy/images", () => {
  it("builds each service as its own target that runs as an unprivileged user", () => {
    for (const name of SERVICES) {
      const lines = effective(all, name);
      const user = last(lines, "USER")?.split(/\s+/)[1] ?? "";
      expect(user, name).toMatch(/^\d+:\d+$/);
      expect(Number(user.split(":")[0]), name).toBeGreaterThanOrEqual(1000);
      expect(last(lines, "ENTRYPOINT"), name).toBe('ENTRYPOINT ["node", "--enable-source-maps", "/app/main.mjs"]');
      expect(all.find((s) => s.name === name)?.lines, name).toContain(`COPY --from=build /bundles/${name} /app`);
    }
    const mlflow = stages(mlflowDockerfile);
    expect(last(mlflow.flatMap((s) => s.lines), "USER")).toBe("USER 10001:10001");
  });

  it("has a HEALTHCHECK on a real route of each service", () => {
    for (const name of SERVICES) {
      const lines = effective(all, name);
      const hc = last(lines, "HEALTHCHECK");
      expect(hc, name).toBeDefined();
      const [node, script, portVar, path] = healthcheckCommand(hc ?? "");
      expect([node, script], name).toEqual(["node", "/opt/asgard/http-probe.mjs"]);
      // The port variable is set in the image, to a fixed port.
      expect(lines.some((l) => l.startsWith("ENV ") && new RegExp(`\\b${portVar}=\\d+`).test(l)), `${name} ${portVar}`).toBe(true);
      if (name === "gateway") expect(gatewayGetPaths, path).toContain(path);
      else expect(path, name).toBe(METRICS_PATH);
    }
  });

  it("carries Python 3.11 and uv (at the version the platform pins) in the runner and inference images, bubblewrap in the runner's", () => {
    expect(all.find((s) => s.name === "python-runtime")?.from).toBe("node-runtime");
    for (const name of ["python-runner", "inference"]) expect(all.find((s) => s.name === name)?.from, name).toBe("python-runtime");
    const python = effective(all, "python-runtime").join("\n");
    expect(python).toContain(`ARG UV_VERSION=${TOOL_VERSIONS.uv}`);
    // Debian bookworm's python3 is 3.11, the interpreter the platform is tested with.
    expect(all.find((s) => s.name === "build")?.from).toBe("${NODE_IMAGE}");
    expect(servicesDockerfile).toMatch(/^ARG NODE_IMAGE=node:20[.\d]*-bookworm-slim$/m);
    expect(python).toContain("apt-get install -y --no-install-recommends python3 python3-venv");
    expect(python).toContain('pip" install --no-cache-dir "uv==${UV_VERSION}"');
    // Where @asgard/tools' ensureUv() looks, marked complete so nothing is built at start-up.
    expect(python).toContain("ASGARD_TOOLS_DIR=/opt/asgard/tools");
    expect(python).toContain('/opt/asgard/tools/uv-${UV_VERSION}/.asgard-complete');
    expect(effective(all, "python-runner").join("\n")).toContain("apt-get install -y --no-install-recommends bubblewrap");
    for (const name of ["gateway", "job-scheduler", "registry", "status"]) {
      expect(effective(all, name).join("\n"), name).not.toContain("python3");
    }
  });
});

describe("health checks of the third-party servers answer on the real software", () => {
  const infra = inject("infra");
  let nats: NatsServer;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "deploy-nats-"));
    nats = await startNatsServer({ storeDir: join(dir, "store") });
  });
  afterAll(async () => {
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Paths probed on port `port` by compose healthchecks and Kubernetes probes of `name`. */
  async function probedPaths(name: string, port: number, portName: string): Promise<string[]> {
    const compose = parseYaml(await readFile(join(DEPLOY, "compose.yaml"), "utf8"), { merge: true }) as {
      services: Record<string, { healthcheck?: { test: string[] } }>;
    };
    const paths: string[] = [];
    for (const arg of compose.services[name]?.healthcheck?.test ?? []) {
      const url = /^http:\/\/127\.0\.0\.1:(\d+)(\/\S*)$/.exec(arg);
      if (url && Number(url[1]) === port && url[2]) paths.push(url[2]);
    }
    const pyProbe = compose.services[name]?.healthcheck?.test;
    if (pyProbe?.[2] === "/opt/asgard/http-probe.py" && Number(pyProbe[3]) === port && pyProbe[4]) paths.push(pyProbe[4]);
    const rendered = await renderKustomization(join(DEPLOY, "k8s", "overlays", "example"));
    for (const workload of [...byKind(rendered, "Deployment"), ...byKind(rendered, "StatefulSet")]) {
      if (workload.metadata.name !== name) continue;
      for (const c of podOf(workload).spec.containers) {
        for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe] as Array<Probe | undefined>) {
          if (probe?.httpGet && (probe.httpGet.port === portName || probe.httpGet.port === port)) paths.push(probe.httpGet.path);
        }
      }
    }
    const mlflowHc = /HEALTHCHECK[\s\S]*?CMD (\[.*\])/.exec(mlflowDockerfile)?.[1];
    if (name === "mlflow" && mlflowHc) paths.push((JSON.parse(mlflowHc) as string[])[3] ?? "");
    return [...new Set(paths)];
  }

  async function expectOk(base: string, paths: string[]): Promise<void> {
    expect(paths.length).toBeGreaterThan(0);
    for (const path of paths) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, `${base}${path}`).toBe(200);
    }
  }

  it("NATS monitoring /healthz (compose and Kubernetes probes)", async () => {
    await expectOk(nats.monitorUrl, await probedPaths("nats", 8222, "monitor"));
  });

  it("MLflow /health (image, compose and Kubernetes probes)", async () => {
    await expectOk(infra.mlflowUrl, await probedPaths("mlflow", 5000, "http"));
  });

  it("SeaweedFS S3 /healthz (compose)", async () => {
    expect(infra.s3).not.toBeNull();
    await expectOk(infra.s3?.endpoint ?? "", await probedPaths("seaweedfs", 8333, "s3"));
  });
});

/** Exit code and output of a command, without throwing on a non-zero exit. */
async function run(command: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(command, args, { env: { PATH: process.env.PATH ?? "", ...env } });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : 1, out: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

/** Status of GET `path` sent with the given Host header (fetch does not let a caller set it). */
function statusWithHost(url: string, path: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}

// The MLflow image is MLflow[auth] at TOOL_VERSIONS.mlflow with psycopg, psycopg2-binary and boto3: the
// harness's MLflow virtualenv is built from exactly that list, so its Python runs the
// image's helper scripts as the image would.
describe("the MLflow image's scripts and settings, on the same MLflow and Python packages", () => {
  const infra = inject("infra");
  let python: string;

  beforeAll(async () => {
    python = join(await ensureMlflowVenv(), "bin", "python");
  });

  it("ensure-bucket.py creates missing buckets, accepts existing ones and refuses a non-s3 URL", async () => {
    const s3 = infra.s3;
    expect(s3).not.toBeNull();
    const env = {
      AWS_ACCESS_KEY_ID: s3?.accessKeyId ?? "",
      AWS_SECRET_ACCESS_KEY: s3?.secretAccessKey ?? "",
      AWS_DEFAULT_REGION: s3?.region ?? "",
      MLFLOW_S3_ENDPOINT_URL: s3?.endpoint ?? "",
    };
    const script = join(DEPLOY, "images", "ensure-bucket.py");
    const a = `deploy-${randomUUID().slice(0, 8)}`;
    const first = await run(python, [script, `s3://${a}/artifacts`, `s3://${a}-2`], env);
    expect(first.out).toContain(`bucket ${a} created`);
    expect(first.out).toContain(`bucket ${a}-2 created`);
    expect(first.code).toBe(0);
    const again = await run(python, [script, `s3://${a}`], env);
    expect(again.out).toContain(`bucket ${a} exists`);
    expect(again.code).toBe(0);
    expect((await run(python, [script, "/tmp/not-s3"], env)).code).toBe(2);
  });

  it("http-probe.py passes on MLflow's /health and fails on a missing route", async () => {
    const script = join(DEPLOY, "images", "http-probe.py");
    const port = new URL(infra.mlflowUrl).port;
    expect((await run(python, [script, port, "/health"])).code).toBe(0);
    expect((await run(python, [script, port, "/no-such-route"])).code).toBe(1);
    expect((await run(python, [script, port, "health"])).code).toBe(2);
  });

  it("mlflow-auth-server.py starts MLflow with basic auth from its environment, and refuses to start without it", async () => {
    const venv = join(python, "..", "..");
    const script = join(DEPLOY, "images", "mlflow-auth-server.py");
    const missing = await run(python, [script, "--help"], { PATH: join(venv, "bin") });
    expect(missing.code).not.toBe(0);
    expect(missing.out).toContain("MLFLOW_AUTH_DATABASE_URI");

    const dir = await mkdtemp(join(tmpdir(), "deploy-mlflow-auth-"));
    const port = await freePort();
    const admin = { username: "asgard-admin", password: randomUUID() };
    const proc = spawnManaged({
      name: "mlflow-auth",
      command: python,
      args: [script, "--host", "127.0.0.1", "--port", String(port), "--workers", "1", "--backend-store-uri", `sqlite:///${join(dir, "mlflow.db")}`,
        "--serve-artifacts", "--artifacts-destination", join(dir, "artifacts"), "--enable-workspaces"],
      env: {
        PATH: `${join(venv, "bin")}:/usr/bin:/bin`,
        HOME: dir,
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false",
        MLFLOW_AUTH_DATABASE_URI: `sqlite:///${join(dir, "auth.db")}`,
        MLFLOW_AUTH_ADMIN_USERNAME: admin.username,
        MLFLOW_AUTH_ADMIN_PASSWORD: admin.password,
        MLFLOW_FLASK_SERVER_SECRET_KEY: randomUUID(),
      },
      logFile: join(dir, "mlflow.log"),
    });
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitUntilReady(proc, "MLflow with auth", async () => (await fetch(`${url}/health`)).ok, 150_000, 250);
      const search = `${url}/api/2.0/mlflow/experiments/search?max_results=1`;
      expect((await fetch(search)).status).toBe(401);
      const basic = `Basic ${Buffer.from(`${admin.username}:${admin.password}`).toString("base64")}`;
      expect((await fetch(search, { headers: { authorization: basic } })).status).toBe(200);
    } finally {
      await proc.stop(10_000);
      await rm(dir, { recursive: true, force: true });
    }
  }, 240_000);

  it("MLflow started with the manifests' --allowed-hosts accepts its in-cluster names and refuses others", async () => {
    const objects = await renderKustomization(join(DEPLOY, "k8s", "overlays", "example"));
    const args = podOf(find(objects, "Deployment", "mlflow")).spec.containers[0]?.args ?? [];
    const allowed = args.find((a) => a.startsWith("--allowed-hosts="))?.slice("--allowed-hosts=".length) ?? "";
    expect(allowed).not.toBe("");
    const dir = await mkdtemp(join(tmpdir(), "deploy-mlflow-"));
    // The same setting through its environment variable; the loopback entry is only for the
    // harness's own readiness check, which reaches the server as 127.0.0.1:<port>.
    const server = await startMlflowServer({
      backendStoreUri: `sqlite:///${join(dir, "mlflow.db")}`,
      artifactsDestination: join(dir, "artifacts"),
      env: { MLFLOW_SERVER_ALLOWED_HOSTS: `${allowed},127.0.0.1:*` },
    });
    try {
      for (const host of ["mlflow:5000", "mlflow.asgard.svc.cluster.local:5000", "mlflow.asgard.svc:5000"]) {
        expect(await statusWithHost(server.url, "/api/2.0/mlflow/experiments/search?max_results=1", host), host).toBe(200);
      }
      expect(await statusWithHost(server.url, "/api/2.0/mlflow/experiments/search?max_results=1", "attacker.example.com")).toBeGreaterThanOrEqual(400);
    } finally {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
